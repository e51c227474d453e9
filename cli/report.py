"""``tilsyn report``: one self-contained, printable HTML page about a tilbud, for readers outside the ledger.

The page is what a supervisor prints for a complaint board or a court: the tilbud, its visits, the
verdicts by theme, fornøden kvalitet, the decisions, the follow-up plan in its nine columns, the regional
indikatorer, the findings, the derivation of every decision node by node (signature and inclusion proof
per node) and the signed checkpoint it was checked against.

It loads nothing: CSS is inline, there are no scripts, fonts or images, and a Content-Security-Policy
forbids any fetch, so the file reads the same offline, years later. Every piece of text comes from users
and is escaped: :func:`el` escapes whatever it is given unless it is :class:`Html` that :func:`el` built.
Personal data is shown as the reader's role allows (placeholders otherwise), exactly as in ``status``.
"""

from __future__ import annotations

import string
import sys
from datetime import date, datetime, timezone
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Iterable

import click

from tilsyn.ledger.checkpoints import check_latest_checkpoint
from tilsyn.standards.explain import explain, nodes
from tilsyn.standards.service import parse_as_of

from .context import AppContext, pass_app
from .html import Html, cat, el, esc, raw
from .output import console, fail



TONE = {"grøn": "good", "opfyldt": "good", "til stede": "good", "gul": "warn", "rød": "bad", "ikke opfyldt": "bad",
        "ikke til stede": "bad", "ikke aktuel": "muted", "åben": "bad", "alvorlig": "bad", "advarsel": "warn",
        "info": "info"}
RISK = {"grøn", "gul", "rød"}


def badge(value: str | None, empty: str = "ikke vurderet") -> Html:
    """A verdict or risk colour as colour AND word (risk colours are solid, verdicts tinted)."""
    if value is None:
        return el("span", empty, class_="badge muted")
    kind = "risk" if value in RISK else "badge"
    return el("span", value, class_=f"{kind} {TONE.get(value, 'muted')}")


def day(value: str | None) -> str:
    """An ISO date as the Danish dd-mm-åååå; '–' for none."""
    if not value:
        return "–"
    try:
        return date.fromisoformat(value[:10]).strftime("%d-%m-%Y")
    except ValueError:
        return value


def when(value: str | None) -> str:
    """An RFC 3339 UTC time as 'dd-mm-åååå kl. tt:mm'."""
    if not value:
        return "–"
    return f"{day(value)} kl. {value[11:16]}" if len(value) >= 16 else day(value)


def yes_no(value: bool | None, none: str = "ikke afgjort") -> str:
    return none if value is None else ("ja" if value else "nej")


def seq_ref(seq: int | None) -> Html:
    return el("span", f"seq {seq}", class_="seq") if seq is not None else raw("")


# -- collecting ---------------------------------------------------------------------------------


def _checkpoint(ledger) -> dict[str, Any] | None:
    """The latest signed checkpoint, its note checked against the authority's genesis key."""
    cp, problem = check_latest_checkpoint(ledger)
    if cp is None:
        return None
    return {"id": cp.id, "size": cp.size, "root": cp.root.hex(), "note": cp.note, "created_at": cp.created_at,
            # The note verified under the key name derived from this origin, so it is the signed one.
            "origin": ledger.origin if problem is None else None, "signature_ok": problem is None,
            "problem": problem}


def collect(app: AppContext, tilbud: str, as_of: str | None) -> dict[str, Any]:
    """Everything the page shows, read once, as plain data."""
    sup = app.supervision(reading=True)
    parse_as_of(as_of)  # a bad --as-of is an error before anything is read
    state = sup.state(tilbud, as_of=as_of)  # an unknown tilbud raises here: exit 2 with the reason
    summary = sup.summary(state)
    findings = sup.findings(state, as_of=as_of)
    trees = [explain(sup, tilbud, d["seq"], as_of) for d in summary["decisions"]]
    templates = sup.catalog.of_kind("opfoelgningsplan")
    contents = {}  # the listed requirements of an indikator ("Retningslinjer for: …"), from the standard
    for r in summary["regional"]:
        try:
            standard = sup.catalog.get(r["standard"], r["version"])
        except KeyError:
            continue
        contents.update({(r["standard"], i.number): list(i.contents) for t in standard.trin for i in t.indikatorer})
    ledger = sup.ledger
    head = ledger.head()
    try:
        version = metadata.version("tilsyn-ledger")
    except metadata.PackageNotFoundError:
        version = "ukendt"
    return {
        "summary": summary, "findings": [f.to_dict() for f in findings], "trees": trees,
        "plan_columns": [(c.key, c.heading, " ".join(c.questions)) for c in templates[-1].columns] if templates else [],
        "indikator_contents": contents, "checkpoint": _checkpoint(ledger), "as_of": as_of,
        "reader": app.actor, "personal_shown": sup.may_see_personal,
        "head": {"seq": head.seq, "hash": head.leaf_hash.hex()} if head else None,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "version": version,
        "authority": ledger.authority,
    }


# -- the command --------------------------------------------------------------------------------


@click.command()
@click.argument("tilbud_id", metavar="TILBUD")
@click.option("--out", "out", required=True, metavar="FILE", help="Where to write the HTML page ('-' for stdout).")
@click.option("--as-of", metavar="DATE|SEQ", help="The report as the ledger stood then: a seq, a date or a time.")
@pass_app
def report(app: AppContext, tilbud_id: str, out: str, as_of: str | None) -> None:
    """Write a self-contained, printable HTML report about TILBUD (in Danish).

    Verdicts by theme, fornøden kvalitet, decisions, the follow-up plan, regional indikatorer, findings,
    the explain tree of every decision and the signed checkpoint it was checked against. Personal data is
    shown only to a tilsynskonsulent or tilsynsleder (--as); other readers see placeholders.
    """
    page = render(collect(app, tilbud_id, as_of))
    if out == "-":
        sys.stdout.write(page)
        return
    try:
        Path(out).write_text(page, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror or e}")
    console.print(f"Rapport for {tilbud_id} skrevet til {out}", markup=False)


COMMANDS = [report]


# -- rendering ----------------------------------------------------------------------------------


def render(data: dict[str, Any]) -> str:
    """The whole page."""
    s = data["summary"]
    body = cat(_header(data), _overview(data), _visits(s), _verdicts(s), _decisions(s), _plan(s, data["plan_columns"]),
               _regional(s, data["indikator_contents"]), _findings(data["findings"]), _trees(data["trees"]),
               _checkpoint_section(data), _footer(data))
    running = f"Tilsynsrapport · {s['tilbud']} · {s['name']} · opgjort pr. seq {s['as_of_seq']}"
    return PAGE.substitute(title=esc(f"Tilsynsrapport – {s['name']} ({s['tilbud']})"),
                           css=raw(CSS + PAGE_BOXES.substitute(running=css_string(running))), body=body)


def css_string(value: str) -> Html:
    """A CSS string literal: every character but letters, digits and spaces as a hex escape."""
    return Html('"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in value) + '"')


def section(anchor: str, title: str, *content: Any) -> Html:
    return el("section", el("h2", title, id=f"{anchor}-titel"), *content, id=anchor, aria_labelledby=f"{anchor}-titel")


def table(headers: Iterable[Any], rows: Iterable[Any], class_: str | None = None,
          widths: Iterable[str | None] = ()) -> Html:
    """A table with column headers (``th scope=col``); ``widths`` fixes column widths (None: the rest)."""
    cols = el("colgroup", [el("col", style=f"width: {w}" if w else None) for w in widths]) if widths else None
    head = el("thead", el("tr", [el("th", h, scope="col") for h in headers]))
    return el("table", cols, head, el("tbody", list(rows)), class_=class_)


def _header(data) -> Html:
    s = data["summary"]
    facts = [
        ("Tilbud-id", s["tilbud"]), ("Navn", s["name"]), ("Tilbudstype", s["tilbud_type"]),
        ("Bestyrelse", yes_no(s["has_board"])), ("Kvalitetsmodel", s["quality_model"] or "–"),
        ("Registreret", cat(seq_ref(s["registered_seq"]))),
        ("Opgjort pr.", cat(f"seq {s['as_of_seq']} · {when(s['as_of_recorded_at'])}",
                            f" (genafspillet: --as-of {data['as_of']})" if data["as_of"] else "")),
        ("Personoplysninger", ("vist for " + (data["reader"] or "–")) if data["personal_shown"] else
         "skjult – læseren er ikke tilsynskonsulent eller tilsynsleder"),
    ]
    return el("header", el("p", data["authority"] or "Socialtilsyn", class_="kicker"),
              el("h1", "Tilsynsrapport: ", s["name"]),
              el("dl", [cat(el("dt", k), el("dd", v)) for k, v in facts], class_="facts"),
              el("p", "Alle tidspunkter er UTC. «sket» er hvornår handlingen fandt sted, «registreret» hvornår "
                      "ledgeren modtog den. «seq» er hændelsens nummer i ledgeren.", class_="note"))


def _overview(data) -> Html:
    s = data["summary"]
    fk = s["fornoeden_kvalitet"]
    titles = {c["id"]: c["title"] for t in s["themes"] for c in t["criteria"]}
    tone = {True: "good", False: "bad", None: "warn"}[fk["value"]]
    held = el("ul", [el("li", el("strong", f"Kriterium {c}"), f" {titles.get(c, '')} – ", badge("ikke opfyldt"))
                     for c in fk["held_back_by"]]) if fk["held_back_by"] else None
    risk = s["risk"]
    open_decisions = [d for d in s["decisions"] if d["status"] == "åben"]
    return section(
        "overblik", "Overblik",
        el("div",
           el("div", el("h3", "Fornøden kvalitet"),
              el("p", el("span", yes_no(fk["value"]), class_=f"big {tone}"),
                 " – holdes tilbage af:" if fk["held_back_by"] else ""), held,
              el("p", "Ikke vurderet: kriterium ", ", ".join(fk["not_assessed"]), class_="small")
              if fk["not_assessed"] else None, class_="card"),
           el("div", el("h3", "Risikokategori"),
              el("p", badge(risk["verdict"] if risk else None), " ",
                 seq_ref(risk["seq"]) if risk else None),
              el("p", risk["reason"], class_="small") if risk else None,
              el("p", "Beregnet forslag: ", s["suggested_risk"] or "–", class_="small"), class_="card"),
           el("div", el("h3", "Åbne afgørelser"),
              el("ul", [el("li", el("strong", d["kind"]), f" (seq {d['seq']}) – frist ", el("strong", day(d["deadline"])))
                        for d in open_decisions]) if open_decisions else el("p", "Ingen"), class_="card"),
           class_="cards"))


def _visits(s) -> Html:
    if not s["visits"]:
        return section("besoeg", "Tilsynsbesøg", el("p", "Ingen besøg registreret."))
    rows = [el("tr", el("th", v["visit"], scope="row"), el("td", v["kind"]), el("td", v["status"]),
               el("td", when(v["occurred_at"])), el("td", v["actor"]),
               el("td", f"{v['seq']}–{v['closed_seq']}" if v["closed_seq"] else v["seq"]),
               el("td", "ja" if v["counts"] else cat("nej", f" – {v['abort_reason']}" if v["abort_reason"] else "")))
            for v in s["visits"]]
    return section("besoeg", "Tilsynsbesøg",
                   table(["Besøg", "Art", "Status", "Startet", "Tilsynskonsulent", "Seq", "Tæller som besøg"], rows))


def _verdicts(s) -> Html:
    parts = [el("p", "«Besluttet» er tilsynets signerede vurdering (den juridiske kendsgerning); «forslag» er "
                     "beregnet efter kvalitetsmodellens regel 3 ud fra markørerne.", class_="note")]
    for theme in s["themes"]:
        rows = []
        for c in theme["criteria"]:
            d = c["decided"]
            rows.append(el(
                "tr", el("th", c["id"], scope="row"), el("td", el("strong", c["title"])),
                el("td", badge(d["verdict"] if d else None)),
                el("td", badge(c["suggested"]) if c["suggested"] else "–",
                   el("div", "afviger fra beslutningen", class_="flag") if c["differs"] else None),
                el("td", badge(c["risk"]["verdict"], "–") if c["risk"] else "–"),
                el("td", cat(seq_ref(d["seq"]), el("br"), d["actor"], el("br"), day(d["occurred_at"])) if d else "–",
                   class_="small"),
                class_="criterion"))
            if d and d["reason"]:
                rows.append(el("tr", el("td"), el("td", el("span", "Faglig begrundelse: ", class_="label"), d["reason"],
                                                   colspan=5), class_="reason"))
            for m in c["markers"]:
                cur = m["current"]
                rows.append(el(
                    "tr", el("th", m["id"], scope="row", class_="sub"),
                    el("td", m["title"],
                       None if m["applies"] else el("span", " (gælder ikke for denne type tilbud)", class_="small"),
                       el("div", cur["reason"], class_="small") if cur and cur["reason"] else None),
                    el("td", badge(cur["verdict"] if cur else None)), el("td", "–"), el("td", "–"),
                    el("td", cat(seq_ref(cur["seq"]), el("br"), cur["actor"]) if cur else "–", class_="small"),
                    class_="marker"))
        status = theme["status"] if theme["status"] != "ikke vurderet" else None
        parts.append(el("h3", f"Tema {theme['id']} · {theme['title']} ", badge(status)))
        parts.append(table(["Nr.", "Kvalitetskriterium / kvalitetsmarkør", "Besluttet", "Forslag", "Risiko", "Grundlag"],
                           rows, class_="verdicts", widths=["4.5em", None, "8.5em", "8.5em", "5em", "8.5em"]))
    return section("vurderinger", "Vurderinger efter tema", *parts)


def _decisions(s) -> Html:
    if not s["decisions"]:
        return section("afgoerelser", "Afgørelser", el("p", "Ingen afgørelser."))
    rows = [el("tr", el("th", d["seq"], scope="row"), el("td", el("strong", d["kind"])), el("td", ", ".join(d["criteria"])),
               el("td", el("strong", day(d["deadline"]))), el("td", badge(d["status"])),
               el("td", d["actor"], el("br"), day(d["occurred_at"]), class_="small"),
               el("td", d["reason"], el("div", f"Lukket ved seq {d['closed_seq']}: {d['closed_reason'] or ''}", class_="small")
                  if d["closed_seq"] else None))
            for d in s["decisions"]]
    return section("afgoerelser", "Afgørelser",
                   table(["Seq", "Afgørelse", "Kriterier", "Frist", "Status", "Truffet af", "Begrundelse"], rows,
                         widths=["4em", "8em", "6em", "7em", "6.5em", "8.5em", None]))


FALLBACK_COLUMNS = [("tema", "TEMA", ""), ("emne", "EMNE", ""), ("maal", "MÅL", ""), ("hvad", "HVAD?", ""),
                    ("hvordan", "HVORDAN?", ""), ("hvornaar", "HVORNÅR?", ""), ("dokumentation", "DOKUMENTATION", ""),
                    ("hvem", "HVEM?", ""), ("resultat", "RESULTAT", "")]


def _plan(s, columns) -> Html:
    plan = s["plan"]
    if not plan["items"]:
        return section("plan", "Opfølgningsplan", el("p", "Ingen opfølgningsplan registreret."))
    a = plan["approval"]
    status = (el("span", "godkendt", class_="badge good") if plan["approved"]
              else el("span", "ikke godkendt i nuværende form", class_="badge bad"))
    approval = (f"Godkendt af {a['actor']} {day(a['occurred_at'])} (seq {a['seq']}) som revision {a['plan_revision']}; "
                f"planen er nu revision {plan['revision']}." if a else f"Aldrig godkendt; planen er revision {plan['revision']}.")
    columns = columns or FALLBACK_COLUMNS
    headers = [raw("Prioritet")] + [cat(h, el("span", q, class_="q") if q else None) for _, h, q in columns]
    rows = []
    for item in sorted(plan["items"], key=lambda i: (i["fields"].get("priority") or 99, i["item"])):
        f = item["fields"]
        cells = []
        for key, _, _ in columns:
            if key == "hvornaar":
                value = cat(el("span", day(f.get("start")), class_="nowrap"), " – ",
                            el("span", day(f.get("slut")), class_="nowrap"))
            elif key == "resultat":
                value = item["result"] or f.get("resultat") or "–"
            else:
                value = f.get(key) or "–"
            cells.append(el("td", value))
        rows.append(el("tr", el("th", f"{f.get('priority', '?')}. prioritet", el("br"),
                                el("span", f"{item['item']} · seq {item['seq']}", class_="small"), scope="row"), cells))
        notes = []
        if f.get("answers"):
            notes.append(el("li", f"Opfølgning på afgørelse seq {f['answers']}."))
        for r in item["revisions"]:
            changes = "; ".join(f"{k} → {_changed(k, v)}" for k, v in r["changes"].items())
            notes.append(el("li", el("strong", "Revideret"), f" (seq {r['seq']}, {r['actor']}): {changes}",
                            f" – «{r['reason']}»" if r["reason"] else "", "" if r["live"] else " (rettet)"))
        if item["result_seq"]:
            notes.append(el("li", f"Resultat registreret ved seq {item['result_seq']}."))
        if not item["approved"]:
            notes.append(el("li", "Rækken er ikke godkendt i sin nuværende form."))
        if notes:
            rows.append(el("tr", el("td", el("ul", notes), colspan=len(columns) + 1), class_="reason"))
    return section("plan", "Opfølgningsplan",
                   el("p", "Status: ", status, " ", approval),
                   el("div", table(headers, rows, class_="plan"), class_="wide"))


def _changed(field: str, value: Any) -> str:
    """A plan row's changed field as shown: dates in Danish form."""
    return day(value) if field in ("start", "slut") else str(value)


def _regional(s, contents) -> Html:
    if not s["regional"]:
        return section("regional", "Regionale kvalitetsstandarder",
                       el("p", "Tilbuddet er ikke omfattet af en regional standard."))
    parts = []
    for r in s["regional"]:
        mon = r["last_monitoring"]
        parts.append(el("h3", f"{r['standard']} · {r['title']} (version {r['version']})"))
        parts.append(el("p", "Seneste interne kvalitetsovervågning: ",
                        f"{day(mon['date'])} (seq {mon['seq']})" if mon else "ingen registreret", class_="small"))
        rows = []
        for trin in r["trin"]:
            done = sum(1 for i in trin["indikatorer"] if i["status"] == "opfyldt")
            cadence = f" · mindst hvert {trin['cadence_years']}. år" if trin["cadence_years"] else ""
            rows.append(el("tr", el("th", f"Trin {trin['number']} · {trin['title']}{cadence} – "
                                          f"{done} af {len(trin['indikatorer'])} indikatorer opfyldt",
                                    colspan=5, scope="colgroup"), class_="group"))
            for i in trin["indikatorer"]:
                listed = contents.get((r["standard"], i["number"]))
                rows.append(el("tr", el("th", i["number"], scope="row"),
                               el("td", i["text"],
                                  el("ul", [el("li", c) for c in listed], class_="contents") if listed else None),
                               el("td", badge(i["status"])), el("td", i["reason"] or "–"),
                               el("td", cat(seq_ref(i["seq"]), el("br"), i["actor"]) if i["seq"] else "–", class_="small")))
        parts.append(table(["Indikator", "Krav", "Status", "Begrundelse", "Grundlag"], rows, class_="regional",
                           widths=["6.5em", None, "8.5em", "30%", "8.5em"]))
    return section("regional", "Regionale kvalitetsstandarder", *parts)


def _findings(findings) -> Html:
    if not findings:
        return section("fund", "Fund", el("p", "Ingen fund."))
    rows = [el("tr", el("td", badge(f["severity"])), el("th", f["subject"], scope="row"), el("td", f["message"]),
               el("td", f"{f['plugin']}/{f['rule']}", class_="small"), el("td", ", ".join(map(str, f["seqs"])) or "–"))
            for f in findings]
    return section("fund", "Fund",
                   el("p", "Fund er råd fra regel-plugins; de afviser intet, men peger på forhold, der bør ses på.", class_="note"),
                   table(["Alvor", "Emne", "Fund", "Regel", "Seq"], rows, widths=["6.5em", "9em", None, "11em", "4.5em"]))


def _check(ok: bool | None, what: str) -> Html:
    if ok is None:
        return el("span", f"– {what}", class_="chk muted")
    return el("span", f"{'✓' if ok else '✗'} {what}", class_=f"chk {'good' if ok else 'bad'}")


def _meta(node) -> Html:
    if "seq" not in node:
        return el("div", "ikke vurderet", class_="meta")
    if node.get("missing"):
        return el("div", f"seq {node['seq']} · hændelsen findes ikke i ledgeren", class_="meta bad")
    return el("div", el("span", f"seq {node['seq']}", class_="seq"), " · ", node["actor"],
              f" ({', '.join(node['roles']) or 'ingen rolle'})", " · sket ", when(node["occurred_at"]),
              " · registreret ", when(node["recorded_at"]),
              f" · {node['standard']}" if node.get("standard") else "", " · ",
              _check(node["signature_ok"], "signatur"), " ", _check(node["inclusion_ok"], "inklusionsbevis"),
              class_="meta")


def _node(title: Html, node, children: Iterable[Html] = ()) -> Html:
    children = list(children)
    reason = node.get("reason")
    return el("li", el("div", el("div", title, class_="what"), _meta(node),
                       el("div", el("span", "Begrundelse: ", class_="label"), reason, class_="why") if reason else None,
                       class_="node"),
              el("ul", children) if children else None)


def _tree(t) -> Html:
    d = t["decision"]
    criteria = []
    for c in d["criteria"]:
        markers = []
        for m in c["markers"]:
            obs = [_node(cat(el("span", "Observation", class_="kind"), f" {o['method']} af {o['source']}",
                             f" (designelement {o['element']})" if o.get("element") else "", ": ", el("q", o["text"])), o)
                   for o in m["observations"]]
            markers.append(_node(cat(el("span", "Markør", class_="kind"), f" {m['marker']} {m['title']} → ",
                                     badge(m["verdict"])), m, obs))
        criteria.append(_node(cat(el("span", "Kriterium", class_="kind"), f" {c['criterion']} {c['title']} → ",
                                  badge(c["verdict"])), c, markers))
    root = _node(cat(el("span", "Afgørelse", class_="kind"), " ", el("strong", d["decision"]),
                     f" · kriterier {', '.join(d['criteria_ids'])} · frist {day(d['deadline'])} · ", badge(d["status"]),
                     el("div", "Plugins: ", ", ".join(f"{k} {v}" for k, v in d["rule_versions"].items()), class_="small")),
                 d, criteria)
    later = [el("li", el("div", el("div", el("span", _later_kind(n["kind"]), class_="kind"), " ", _later_text(n), class_="what"),
                         _meta(n), class_="node")) for n in t["later"]]
    ok = t["all_signatures_ok"]
    proofs = [n.get("inclusion_ok") for n in nodes(d) if "seq" in n]
    if "size" not in t["checkpoint"]:
        inclusion = _check(None, "intet kontrolpunkt at kontrollere inklusionsbeviser mod")
    elif False in proofs:
        inclusion = _check(False, "mindst ét inklusionsbevis passer ikke med kontrolpunktet")
    elif None in proofs:
        inclusion = _check(None, "nogle hændelser er nyere end kontrolpunktet")
    else:
        inclusion = _check(True, "alle hændelser dækket af kontrolpunktet")
    verdict = el("p", _check(ok, "alle signaturer gyldige" if ok else "ikke alle signaturer er gyldige"), " ", inclusion,
                 class_="summary-line")
    return el("article",
              el("h3", f"Afgørelse seq {d['seq']}: {d['decision']} (frist {day(d['deadline'])})"), verdict,
              el("ul", root, class_="tree"),
              el("h4", "Siden da – senere hændelser, der ændrer billedet") if later else None,
              el("ul", later, class_="tree later") if later else None,
              class_="explain")


LATER_KIND = {"correction": "rettelse", "newer criterion verdict": "nyere kriterievurdering",
              "newer marker verdict": "nyere markørvurdering", "plan row answering it": "planrække, der følger op",
              "plan row revised": "planrække revideret"}


def _later_kind(kind: str) -> str:
    if kind.startswith("decision "):
        return f"afgørelsen {kind.removeprefix('decision ')}"
    return LATER_KIND.get(kind, kind)


def _later_text(n) -> str:
    bits = []
    for key, label in (("item", "række"), ("criterion", "kriterium"), ("marker", "markør"), ("verdict", "vurdering"),
                       ("corrects", "retter seq")):
        if n.get(key) is not None:
            bits.append(f"{label} {n[key]}")
    if n.get("changes"):
        bits.append("ændringer: " + "; ".join(f"{k} → {_changed(k, v)}" for k, v in n["changes"].items()))
    if n.get("approved") is not None:
        bits.append("godkendt" if n["approved"] else "ikke godkendt")
    if n.get("reason"):
        bits.append(f"«{n['reason']}»")
    return " · ".join(bits)


def _trees(trees) -> Html:
    intro = el("p", "For hver afgørelse: de kriterievurderinger, den hviler på, markørvurderingerne under dem og "
                    "observationerne bag – som ledgeren stod, da afgørelsen blev truffet. For hver hændelse vises, om "
                    "signaturen verificerer over de lagrede bytes (✓/✗), og om dens inklusionsbevis passer med det "
                    "signerede kontrolpunkt (✓/✗; – hvis hændelsen er nyere end kontrolpunktet).", class_="note")
    if not trees:
        return section("begrundelse", "Afgørelsernes grundlag", el("p", "Ingen afgørelser at forklare."))
    return section("begrundelse", "Afgørelsernes grundlag", intro, [_tree(t) for t in trees])


def _checkpoint_section(data) -> Html:
    cp = data["checkpoint"]
    if cp is None:
        return section("kontrolpunkt", "Signeret kontrolpunkt",
                       el("p", "Der er endnu intet signeret kontrolpunkt; inklusionsbeviser kan ikke kontrolleres. "
                               "Myndigheden kører 'tilsyn checkpoint'.", class_="warnbox"))
    head = data["head"]
    covers = (f"Kontrolpunktet dækker seq 1–{cp['size']}" +
              (f"; ledgeren har nu {head['seq']} hændelser (de senere er ikke dækket endnu)." if head and head["seq"] > cp["size"]
               else " – hele ledgeren."))
    facts = [("Kontrolpunkt", f"#{cp['id']}, oprettet {when(cp['created_at'])}"), ("Oprindelse (origin)", cp["origin"] or "–"),
             ("Træets størrelse", cp["size"]), ("Merkle-rod (hex)", el("code", cp["root"])),
             ("Signatur", _check(cp["signature_ok"], "gyldig (myndighedens genesis-nøgle)" if cp["signature_ok"]
                                 else f"UGYLDIG: {cp['problem']}"))]
    return section("kontrolpunkt", "Signeret kontrolpunkt",
                   el("p", "Et C2SP tlog-checkpoint i en signed note, signeret med myndighedens nøgle. Med det kan "
                           "enhver kontrollere, at hændelserne ovenfor står i ledgeren, uden at stole på databasen. ",
                      covers, class_="note"),
                   el("dl", [cat(el("dt", k), el("dd", v)) for k, v in facts], class_="facts"),
                   el("pre", cp["note"], class_="note-text", aria_label="Signeret note"))


def _footer(data) -> Html:
    head = data["head"]
    return el("footer",
              el("p", f"Genereret {when(data['generated_at'])} UTC af tilsyn-ledger {data['version']}",
                 " · ledgerens hoved: ", f"seq {head['seq']}, hash " if head else "tom ledger",
                 el("code", head["hash"]) if head else None))


# Printed pages carry the tilbud and a page number in their margins (CSS paged media).
PAGE_BOXES = string.Template("""
@page { @bottom-left { content: $running; font: 7.5pt "Liberation Sans", Arial, sans-serif; color: #5b6670; }
        @bottom-right { content: "Side " counter(page) " af " counter(pages); font: 7.5pt "Liberation Sans", Arial, sans-serif; color: #5b6670; } }
""")

PAGE = string.Template("""<!DOCTYPE html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$body
</main>
</body>
</html>
""")

# The page's style sheet lives beside this module (report.css) and is inlined into every report.
CSS = (resources.files(__package__) / "report.css").read_text(encoding="utf-8")

