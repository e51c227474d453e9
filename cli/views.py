"""Reading commands: status, findings, history — human tables on a terminal, complete JSON for scripts."""

from __future__ import annotations


from types import SimpleNamespace

import click
from rich.table import Table
from rich.text import Text

from tilsyn.standards.danish import number_of, way
from tilsyn.standards.service import parse_as_of

from .context import AppContext, pass_app
from .output import console, emit_json, text, visible, visible_data
from .timeview import local_time

COLOUR = {"grøn": "green", "gul": "yellow", "rød": "red", "opfyldt": "green", "ikke opfyldt": "red",
          "til stede": "green", "ikke til stede": "red", "ikke aktuel": "bright_black", "ikke vurderet": "bright_black"}


def coloured(value: str | None) -> Text:
    if value is None:
        return Text("–", style="bright_black")
    return Text(value, style=COLOUR.get(value, ""))


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--as-of", metavar="DATE|SEQ", help="Replay as the ledger knew it then: a seq, a date or a time.")
@click.option("--json", "as_json", is_flag=True, help="Complete machine-readable status, with findings.")
@pass_app
def status(app: AppContext, tilbud_id: str, as_of: str | None, as_json: bool) -> None:
    """The current state of TILBUD: verdicts by theme, fornøden kvalitet, risk, decisions, plan, indikatorer."""
    sup = app.supervision(reading=True)
    parse_as_of(as_of)  # a bad --as-of is an error before anything is read
    state = sup.state(tilbud_id, as_of=as_of)
    summary = sup.summary(state)
    findings = sup.findings(state, as_of=as_of)
    if as_json:
        emit_json(summary | {"findings": [f.to_dict() for f in findings]})
        return
    out = Lines()  # hundreds of lines for a large tilbud: laid out together, written once
    _print_status(visible_data(summary), findings, out)  # what people typed, shown literally
    out.flush()
    _personal_note(sup)


class Lines:
    """Lines for the console, laid out as one text without wrapping and written together; anything
    else (a table) is printed as it comes, after the lines before it."""

    def __init__(self):
        self._text = Text()

    def print(self, renderable="") -> None:
        if isinstance(renderable, str):
            renderable = Text(visible(renderable))
        if isinstance(renderable, Text):
            self._text.append_text(renderable)
            self._text.append("\n")
            return
        self.flush()
        console.print(renderable)

    def flush(self) -> None:
        if self._text:
            console.print(self._text, soft_wrap=True, end="")
            self._text = Text()


def _print_status(s: dict, findings, out: Lines) -> None:
    fk = s["fornoeden_kvalitet"]
    head = Text.assemble((f"{s['tilbud']} ", "bold"), f"{s['name']} · {s['tilbud_type']}"
                         f"{' · bestyrelse' if s['has_board'] else ''} · as of seq {s['as_of_seq']}"
                         f" ({local_time(s['as_of_recorded_at'])}) · {s['quality_model']}")
    out.print(head)
    _print_legal_status(s, out)
    fk_text = {True: Text("ja", style="green"), False: Text("nej", style="red"), None: Text("ikke afgjort", style="yellow")}
    line = Text("Fornøden kvalitet: ") + fk_text[fk["value"]]
    if fk["held_back_by"]:
        line += Text(f" — holdes tilbage af kriterium {', '.join(fk['held_back_by'])}")
    out.print(line)
    if fk["value"] is not True:
        for why in fk["missing"][:12]:
            out.print(Text(f"  · {why}", style="bright_black"))
        if len(fk["missing"]) > 12:
            out.print(Text(f"  · … og {len(fk['missing']) - 12} mere", style="bright_black"))
    oek = s.get("oekonomi")
    out.print(Text("Økonomi: ") + coloured(oek["verdict"] if oek else None)
                  + Text(f"  (seq {oek['seq']}, {oek['actor']})" if oek else "  (ikke vurderet)", style="bright_black"))
    risk = s["risk"]
    out.print(Text("Risikokategori: ") + coloured(risk["verdict"] if risk else None)
                  + Text(f"  (forslag: {s['suggested_risk'] or '–'})" + (f" · seq {risk['seq']}, {risk['actor']}" if risk else ""),
                         style="bright_black"))
    history = [r for r in s.get("risk_history", []) if r["live"]]
    if len(history) > 1 or any(r["widened"] for r in history):
        out.print(Text("Risikohistorik:", style="bold"))
        for r in history:
            scope = f"kriterium {r['criterion']}" if r["criterion"] else "tilbuddet"
            out.print(Text.assemble("  ", coloured(r["colour"]), f" {scope} · seq {r['seq']} · {r['actor']} · "
                                        f"{local_time(r['occurred_at'])[:10]}" + (" · gældende" if r["current"] else "")))
            for w in r["widened"]:
                if not w["live"]:
                    continue
                added = [*w["elements"], *(f"{way(x['method'], x['source'])} ({x['marker']})" for x in w["ways"])]
                out.print(Text(f"    udvidet (seq {w['seq']}): {', '.join(added)} · tvivl: {w['doubt']}",
                                   style="bright_black"))
    table = Table("tema", "kriterium", "besluttet", "forslag", "markører", "seq", box=None, header_style="bold",
                  title="Vurderinger", title_justify="left")
    for theme in s["themes"]:
        for i, c in enumerate(theme["criteria"]):
            markers = Text()
            for m in c["markers"]:
                verdict = m["current"]["verdict"] if m["current"] else None
                markers += Text(f"{m['id']} ") + coloured(verdict) + Text("  ")
            decided = c["decided"]
            shown = coloured(decided["verdict"] if decided else None)
            if c.get("stale"):
                shown += Text(" (forældet)", style="bold red")
            table.add_row(f"{theme['id']} {theme['title'][:28]}" if i == 0 else "", f"{c['id']}", shown,
                          Text(c["suggested"] or "–", style="bold red" if c["differs"] else "bright_black"),
                          markers, str(decided["seq"]) if decided else "")
    out.print(table)
    if s["visits"]:
        out.print("Besøg: " + "; ".join(f"{v['visit']} {v['kind']} {v['status']} (seq {v['seq']})" for v in s["visits"]))
    for d in s["decisions"]:
        _print_decision(d, out)
    for v in s["legal"]["varsler"]:
        if v["decided_seq"] is None:
            out.print(Text.assemble(("Varsel ", "bold"), f"seq {v['seq']}: {v['kind']} · kriterier "
                                        f"{', '.join(v['criteria'])} · høringsfrist {v['hoeringsfrist']} · "
                                        f"{len(v['svar'])} høringssvar · {v['actor']}"))
    for a in s["legal"]["anbefalinger"]:
        out.print(Text.assemble(("Anbefaling ", "bold"), f"seq {a['seq']} · kriterium {a['criterion']}: ") + text(a["text"]))
    plan = s["plan"]
    if plan["items"]:
        approved = Text("godkendt", style="green") if plan["approved"] else Text("ikke godkendt", style="red")
        out.print(Text(f"Opfølgningsplan (revision {plan['revision']}): ") + approved)
        for item in plan["items"]:
            f = item["fields"]
            out.print(f"  {f['priority']}. prioritet [{item['item']}] {f['tema']}: {f['emne'][:70]} "
                      f"({f['start']} – {f['slut']}; {number_of(len(item['revisions']), 'revision', 'revisioner')})"
                      + (f" · besvarer seq {f['answers']}" if f.get("answers") else "")
                      + (" · resultat registreret" if item["result"] else ""))
    for r in s["regional"]:
        mon = r["last_monitoring"]
        out.print(f"{r['standard']} {r['title']}: seneste overvågning {mon['date'] if mon else '–'}")
        for trin in r["trin"]:
            cells = Text(f"  trin {trin['number']}: ")
            for ind in trin["indikatorer"]:
                cells += Text(f"{ind['number']} ") + coloured(ind["status"]) + Text("  ")
            out.print(cells)
    _print_findings(findings, out)


# -- legal (issue 13) ---------------------------------------------------------------------------------
MASTER_LABELS = {"maalgruppe": "målgruppe", "pladser": "pladser", "lovgrundlag": "lovgrundlag",
                 "afdelinger": "afdelinger", "ejerform": "ejerform", "adresse": "adresse", "cvr": "CVR"}


def _print_legal_status(s: dict, out: Lines) -> None:
    legal = s["legal"]
    line = Text("Status: ") + Text(legal["status"], style="bold")
    if legal["godkendt_dato"]:
        line += Text(f" (registreret som godkendt {legal['godkendt_dato']})")
    master = legal["master"]
    if master:
        shown = [f"{MASTER_LABELS.get(k, k)}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in master.items()]
        line += text(" · " + " · ".join(shown))
    out.print(line)


def _print_decision(d: dict, out: Lines) -> None:
    colour = "red" if d["status"] == "åben" else "green"
    out.print(Text.assemble(("Afgørelse ", "bold"), f"seq {d['seq']}: {d['kind']} · kriterier {', '.join(d['criteria'])}"
                                f" · frist {d.get('frist') or d['deadline'] or '–'} · ", (d["status"], colour),
                                f" · {d['actor']}"))
    for x in d.get("extensions", []):
        out.print(Text(f"  frist forlænget (seq {x['seq']}, {x['actor']}): {x['previous'] or '–'} → {x['deadline']}: ")
                      + text(x["reason"]))
    if d.get("indhold"):
        out.print(Text("  indhold: ") + text(d["indhold"]))
    if d.get("hjemmel"):
        out.print(Text("  hjemmel: ") + text(d["hjemmel"]))
    v = d.get("varsel")
    if v:
        svar = "; ".join(f"seq {h['seq']} {h['actor']}{' (på tilbuddets vegne)' if h['on_behalf'] else ''}"
                         for h in v["svar"]) or "intet høringssvar"
        out.print(Text(f"  høring: varsel seq {v['seq']}, høringsfrist {v['hoeringsfrist']}; høringssvar: {svar}"))
        if d.get("hoering_afvejning"):
            out.print(Text("  afvejning: ") + text(d["hoering_afvejning"]))
    elif d.get("uden_partshoering"):
        out.print(Text("  uden partshøring: ", style="yellow") + text(d["uden_partshoering"]))
    if d.get("klagevejledning"):
        out.print(Text("  klagevejledning: ") + text(d["klagevejledning"]))


def _print_findings(findings, out: Lines | None = None) -> None:
    out = out or Lines()
    if not findings:
        out.print(Text("Fund: ingen", style="green"))
    else:
        out.print(Text(f"Fund ({len(findings)}):", style="bold"))
    style = {"alvorlig": "red", "advarsel": "yellow", "info": "cyan"}
    for f in findings:
        f = SimpleNamespace(**visible_data(f.to_dict()))
        out.print(Text.assemble("  ", (f"{f.severity:<8}", style.get(f.severity, "")), f" {f.subject}: {f.message}",
                                (f"  [{f.plugin}/{f.rule}; seq {', '.join(map(str, f.seqs)) or '–'}]", "bright_black")))
    out.flush()


@click.command()
@click.argument("tilbud_id", metavar="TILBUD", required=False)
@click.option("--as-of", metavar="DATE|SEQ", help="Replay as the ledger knew it then.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def findings(app: AppContext, tilbud_id: str | None, as_of: str | None, as_json: bool) -> None:
    """What the rule plugins report for TILBUD (or every tilbud). Findings advise; they never refuse."""
    sup = app.supervision(reading=True)
    ids = [tilbud_id] if tilbud_id else sup.tilbud_ids()
    out = {}
    for t in ids:
        state = sup.state(t, as_of=as_of)
        out[t] = sup.findings(state, as_of=as_of)
    if as_json:
        emit_json({t: [f.to_dict() for f in fs] for t, fs in out.items()})
        return
    for t, fs in out.items():
        console.print(Text(t, style="bold"))
        _print_findings(fs)


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--json", "as_json", is_flag=True, help="Every event with its payload.")
@pass_app
def history(app: AppContext, tilbud_id: str, as_json: bool) -> None:
    """Every event of TILBUD in order, with who, when, and what corrected what."""
    sup = app.supervision(reading=True)
    state = sup.state(tilbud_id)
    events = [_revealed(sup, e) for e in app.ledger().read(stream=f"tilbud/{tilbud_id}")]
    if as_json:
        emit_json([e | {"withdrawn_by": state.withdrawn.get(e["seq"])} for e in events])
        return
    # Columns laid out here, one line per event, printed as one text without wrapping: a rich Table
    # measures and wraps every cell, which took seconds for a tilbud with thousands of events.
    from rich.cells import cell_len

    header = ("seq", "occurred", "recorded", "actor", "type", "what")
    rows = [(str(e["seq"]), local_time(e["occurred_at"]), local_time(e["recorded_at"]), visible(e["actor"]),
             e["type"].split("/")[0]) for e in events]
    widths = [max([cell_len(r[i]) for r in rows] + [len(header[i])]) for i in range(5)]

    def line(cells) -> str:
        return "".join(c + " " * (w - cell_len(c) + 1) for c, w in zip(cells, widths))

    out = Text(line(header[:5]) + header[5] + "\n", style="bold")
    for cells, e in zip(rows, events):
        out.append(line(cells))
        what = visible(_describe(e["payload"]))
        if e["seq"] in state.withdrawn:
            out.append(what, style="strike")
            out.append(f" (rettet ved seq {state.withdrawn[e['seq']]})")
        else:
            out.append(what)
        out.append("\n")
    console.print(out, soft_wrap=True, end="")
    _personal_note(sup)


def _personal_note(sup) -> None:
    note = sup.personal_note()
    if note:
        console.print(Text(note, style="yellow"))


def _revealed(sup, event) -> dict:
    """An event as JSON with its personal fields shown as this reader may see them."""
    d = event.to_dict()
    tilbud, version = event.stream.split("/", 1)[1], event.statement.stream_version
    d["payload"] = {name: sup.reveal_value(tilbud, value, version, name) for name, value in d["payload"].items()}
    return d


def _describe(p: dict) -> str:
    keys = ("marker", "criterion", "verdict", "colour", "kind", "criteria", "deadline", "item", "priority", "indikator",
            "visit", "corrects", "decision", "date", "name", "source", "method", "elements", "interview_form",
            "varsel", "hoeringsfrist", "status", "godkendt_dato")  # legal (issue 13)
    parts = [f"{k}={','.join(p[k]) if isinstance(p[k], list) else p[k]}" for k in keys if p.get(k) not in (None, [], "")]
    text = p.get("indhold") or p.get("reason") or p.get("text") or p.get("doubt") or p.get("emne") or p.get("resultat") or ""
    if text and not text.startswith("«"):  # placeholders for personal data come quoted already
        text = f"«{text[:60]}»"
    return " ".join(parts) + (f" {text}" if text else "")


COMMANDS = [status, findings, history]
