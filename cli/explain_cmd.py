"""``tilsyn explain``: how a decision was reached, checkable node by node."""

from __future__ import annotations

import click
from rich.text import Text

from tilsyn.standards.danish import way
from tilsyn.standards.explain import explain as build_explain

from .context import AppContext, pass_app
from .output import console, emit_json, visible_data
from .timeview import local_time
from .views import coloured


class Tree:
    """A tree of text lines drawn with rich's guides (├── │ └──), laid out here in one pass.

    rich's own Tree measures and wraps every node; for a påbud resting on hundreds of observations that
    took seconds. Lines are not wrapped here (the terminal wraps them); ``print`` writes once.
    """

    def __init__(self, label: Text):
        self.label, self.children = label, []

    def add(self, label: Text) -> "Tree":
        child = Tree(label)
        self.children.append(child)
        return child

    def text(self) -> Text:
        out = Text()
        self._draw(out, "", None)
        return out

    def _draw(self, out: Text, prefix: str, last: bool | None) -> None:
        if last is not None:
            out.append(prefix + ("└── " if last else "├── "))
        out.append_text(self.label)
        out.append("\n")
        inner = prefix if last is None else prefix + ("    " if last else "│   ")
        for i, child in enumerate(self.children):
            child._draw(out, inner, i == len(self.children) - 1)

    def print(self) -> None:
        console.print(self.text(), soft_wrap=True, end="")


def _mark(node: dict) -> Text:
    sig = node.get("signature_ok")
    inc = node.get("inclusion_ok")
    t = Text()
    t += Text("✓sig " if sig else "✗sig ", style="green" if sig else "bold red")
    if inc is None:
        t += Text("–proof", style="bright_black")
    else:
        t += Text("✓proof" if inc else "✗proof", style="green" if inc else "bold red")
    return t


def _head(node: dict) -> Text:
    if "seq" not in node:
        return Text("ikke vurderet", style="bright_black")
    return Text.assemble(f"seq {node['seq']} · {node['actor']} ({', '.join(node['roles']) or 'no role'}) · "
                         f"sket {local_time(node['occurred_at'])} · registreret "
                         f"{local_time(node['recorded_at'])} · ", _mark(node))


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.argument("decision_seq", metavar="[DECISION-SEQ]", type=int, required=False)
@click.option("--as-of", metavar="DATE|SEQ", help="Replay the explanation as the ledger stood then.")
@click.option("--json", "as_json", is_flag=True, help="The whole tree, machine-readable.")
@pass_app
def explain(app: AppContext, tilbud_id: str, decision_seq: int | None, as_of: str | None, as_json: bool) -> None:
    """Show how a decision of TILBUD was reached (default: its most recent decision).

    decision ← criterion verdicts ← marker verdicts ← observations, each with who (and their role), when,
    under which standard, whether its signature verifies and whether its inclusion proof checks against
    the latest signed checkpoint; then what came later and changed the picture.
    """
    sup = app.supervision(reading=True)
    result = build_explain(sup, tilbud_id, decision_seq, as_of)
    if as_json:
        emit_json(result)
        return
    result = visible_data(result)  # what people typed, shown literally
    tilbud_id = visible_data(tilbud_id)
    d = result["decision"]
    root = Tree(Text.assemble((f"{d['decision']} ", "bold red"), f"for {tilbud_id} · kriterier "
                              f"{', '.join(d['criteria_ids'])} · frist {d['deadline'] or '–'} · {d['status']}"))
    root.add(_head(d))
    root.add(Text(f"begrundelse: {d['reason']}"))
    _legal(root, d)
    root.add(Text(f"standard {d['standard']} · plugins {', '.join(f'{k} {v}' for k, v in d['rule_versions'].items())}",
                  style="bright_black"))
    for c in d["criteria"]:
        cn = root.add(Text.assemble(("kriterium ", "bold"), f"{c['criterion']} {c['title'][:80]} → ", coloured(c["verdict"])))
        cn.add(_head(c))
        if c.get("reason"):
            cn.add(Text(f"begrundelse: {c['reason']}", style="italic"))
        for m in c["markers"]:
            mn = cn.add(Text.assemble(("markør ", "bold"), f"{m['marker']} {m['title'][:70]} → ", coloured(m["verdict"])))
            mn.add(_head(m))
            if m.get("reason"):
                mn.add(Text(f"begrundelse: {m['reason']}", style="italic"))
            for o in m["observations"]:
                on = mn.add(Text.assemble(("observation ", "bold"), f"({way(o['method'], o['source'])}): {o['text']}"))
                on.add(_head(o))
    root.print()
    if result["later"]:
        later = Tree(Text("Siden da", style="bold"))
        for n in result["later"]:
            later.add(Text.assemble((f"{n['label']}: ", "bold"), n["detail"], " · ", _head(n)))
        later.print()
    cp = result["checkpoint"]
    if "size" in cp:
        console.print(Text(f"Kontrolpunkt #{cp['id']}: {cp['size']} hændelser, rod {cp['root'][:16]}…, signatur "
                           f"{'gyldig' if cp['signature_ok'] else 'UGYLDIG'}", style="green" if cp["signature_ok"] else "red"))
    else:
        console.print(Text(f"Kontrolpunkt: {cp['problem']}", style="yellow"))
    ok = result["all_signatures_ok"]
    failed = result["proof_failures"]
    console.print(Text(("Alle signaturer er gyldige" if ok else "Ikke alle signaturer er gyldige") + "; "
                       + (f"inklusionsbeviset FEJLER for seq {', '.join(map(str, failed))}" if failed else
                          "alle hændelser er dækket af kontrolpunktet" if result["all_included"] else
                          "ikke alle hændelser er dækket af et kontrolpunkt endnu"),
                       style="green" if ok and result["all_included"] else "red" if failed or not ok else "yellow"))
    if not ok or failed:
        raise SystemExit(1)


COMMANDS = [explain]


def _legal(root: Tree, d: dict) -> None:
    """Legal (issue 13): indhold, hjemmel, klagevejledning, and the varsel with its høringssvar."""
    for key, label in (("indhold", "indhold"), ("hjemmel", "hjemmel"), ("klagevejledning", "klagevejledning"),
                       ("frist_begrundelse", "frist begrundet"), ("uden_partshoering", "uden partshøring"),
                       ("hoering_afvejning", "høringssvaret afvejet")):
        if d.get(key):
            root.add(Text(f"{label}: {d[key]}"))
    v = d.get("varsel")
    if v:
        vn = root.add(Text.assemble(("varsel ", "bold"), f"om {v['decision']} · høringsfrist {v['hoeringsfrist']}"))
        vn.add(_head(v))
        for h in v["svar"]:
            hn = vn.add(Text.assemble(("høringssvar", "bold"), " (på tilbuddets vegne)" if h.get("on_behalf") else "",
                                      f": {h['text']}"))
            hn.add(_head(h))
