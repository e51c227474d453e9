"""The tilsynsrapport as plain data: what the template shows, read once from a verified ledger.

Built from the tilbud's state and summary (the same facts ``status`` shows), arranged the way a
tilsynsrapport reads: tilbudsoplysninger and legal status, visits, the samlet vurdering, per tema and
criterion the vurdering with its markers and datagrundlag, økonomi, risk and its history, decisions,
the opfølgningsplan, regional indikatorer, anbefalinger and corrections. Fields that other parts of the
ledger add (legal status, hjemmel, klagevejledning, økonomi …) are shown when the summary carries them,
and said to be missing when it does not: nothing is made up here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tilsyn.standards.explain import explain
from tilsyn.standards.service import parse_as_of

from .verification import verify_stream

# Event types in plain Danish, for the appendix (the body never names them).
EVENT_NAMES = {
    "tilbud.Registered": "Tilbud registreret", "tilsyn.VisitStarted": "Tilsynsbesøg påbegyndt",
    "tilsyn.VisitCompleted": "Tilsynsbesøg gennemført", "tilsyn.VisitAborted": "Tilsynsbesøg afbrudt",
    "kvalitetsmodel.ObservationRecorded": "Observation", "kvalitetsmodel.MarkerAssessed": "Markørvurdering",
    "kvalitetsmodel.CriterionAssessed": "Kriterievurdering", "kvalitetsmodel.RiskCategorised": "Risikovurdering",
    "tilsyn.DecisionIssued": "Afgørelse truffet", "tilsyn.DecisionLifted": "Afgørelse ophævet",
    "tilsyn.DecisionFulfilled": "Afgørelse efterkommet", "opfoelgningsplan.ItemAdded": "Planpunkt tilføjet",
    "opfoelgningsplan.ItemRevised": "Planpunkt revideret", "opfoelgningsplan.Approved": "Plan godkendt",
    "opfoelgningsplan.ResultRecorded": "Resultat registreret", "regional.IndikatorChecked": "Indikator kontrolleret",
    "regional.MonitoringCompleted": "Kvalitetsovervågning gennemført", "tilsyn.Correction": "Rettelse",
}

VISIT_KIND = {"anmeldt": "anmeldt", "uanmeldt": "uanmeldt"}
FALLBACK_COLUMNS = [("tema", "TEMA", ""), ("emne", "EMNE", ""), ("maal", "MÅL", ""), ("hvad", "HVAD?", ""),
                    ("hvordan", "HVORDAN?", ""), ("hvornaar", "HVORNÅR?", ""), ("dokumentation", "DOKUMENTATION", ""),
                    ("hvem", "HVEM?", ""), ("resultat", "RESULTAT", "")]


def event_name(type_: str) -> str:
    return EVENT_NAMES.get(type_.split("/")[0], type_.split("/")[0])


def _version() -> str:
    """The version that made the document (the constant a test keeps equal to the distribution's: reading
    the installed metadata would cost an import and a scan of site-packages per document)."""
    from tilsyn import __version__

    return __version__


def collect(app, tilbud: str, as_of: str | None, internal: bool = False) -> dict[str, Any]:
    """Everything the tilsynsrapport shows, verified first (see :mod:`.verification`)."""
    sup = app.supervision(reading=True)
    parse_as_of(as_of)  # a bad --as-of is an error before anything is read
    state = sup.state(tilbud, as_of=as_of)  # an unknown tilbud raises here: exit 2 with the reason
    verification = verify_stream(sup, tilbud, until_seq=state.last_seq)
    s = sup.summary(state)
    model = _model(sup, s)
    corrections = _corrections(state, s)
    visits = {v["visit"]: v for v in s["visits"]}
    data: dict[str, Any] = {
        "authority": sup.ledger.authority or "Socialtilsynet",
        "tilbud": _tilbud(s, state, sup),
        "as_of": {"seq": s["as_of_seq"], "at": s["as_of_recorded_at"], "asked": as_of},
        "model": model,
        "visits": [_visit(v) for v in s["visits"]],
        "overall": _overall(s),
        "themes": [_theme(t, visits, corrections, state) for t in s["themes"]],
        "economy": s.get("oekonomi"),
        "risk": _risk(s, state, corrections),
        "decisions": [_decision(d, s, state) for d in s["decisions"]],
        "plan": _plan(s, sup, state),
        "regional": _regional(s, state, sup),
        "recommendations": (s.get("legal") or {}).get("anbefalinger") or [],
        "corrections": [c for c in corrections.values()],
        "personal_shown": sup.personal["shown"] > 0, "personal_note": sup.personal_note(), "reader": app.actor,
        "verification": verification.to_dict(), "version": _version(),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "internal": internal,
    }
    if internal:
        data["findings"] = [f.to_dict() for f in sup.findings(state, as_of=as_of)]
        data["trees"] = [explain(sup, tilbud, d["seq"], as_of) for d in s["decisions"]]
        data["suggested_risk"] = s["suggested_risk"]
    return data


def _model(sup, s) -> dict[str, Any] | None:
    if not s["quality_model"]:
        return None
    mid, _, version = s["quality_model"].partition("@")
    try:
        m = sup.catalog.get(mid, version)
    except KeyError:
        return {"title": mid, "version": version, "design": {}}
    design = {mk.id: [{"id": d.id, "heading": d.heading,
                       "options": [f"{o.method} af {o.source}" for o in d.options]} for d in mk.design]
              for t in m.themes for c in t.criteria for mk in c.markers}
    return {"title": m.title, "version": m.version, "design": design}


MASTER_LABELS = {"adresse": "Adresse", "cvr": "CVR-nummer", "ejerform": "Ejerform", "maalgruppe": "Målgruppe",
                 "pladser": "Antal pladser", "lovgrundlag": "Lovgrundlag", "afdelinger": "Afdelinger"}


def _tilbud(s, state, sup) -> dict[str, Any]:
    legal = s.get("legal") or {}
    master = legal.get("master") or {}
    info = {MASTER_LABELS.get(k, k.capitalize()): (", ".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in master.items() if v not in (None, "", [])}
    return {"id": s["tilbud"], "name": s["name"], "type": s["tilbud_type"], "has_board": s["has_board"],
            "legal_status": legal.get("status"), "approved_on": legal.get("godkendt_dato"), "info": info,
            "address": master.get("adresse"),
            "registered_at": _occurred(state, s["registered_seq"]),
            "regional_standards": [r["title"] for r in s["regional"]]}


def _occurred(state, seq: int | None) -> str | None:
    if seq is None:
        return None
    for group in (state.visits, state.observations, state.risks, state.decisions, state.indikator_checks):
        for f in group:
            if f.seq == seq:
                return f.occurred_at
    return None


def _visit(v) -> dict[str, Any]:
    return {**v, "kind": VISIT_KIND.get(v["kind"], v["kind"]), "aborted": v["status"] == "afbrudt",
            "participants": v.get("participants") or []}


def _overall(s) -> dict[str, Any]:
    fk = s["fornoeden_kvalitet"]
    rows = {c["id"]: c for t in s["themes"] for c in t["criteria"]}
    absent = fk.get("markers_absent") or {}
    return {"value": fk["value"],
            "held_back": [{"id": c, "title": rows[c]["title"] if c in rows else "",
                           "decided": rows[c]["decided"] if c in rows else None, "absent": absent.get(c, [])}
                          for c in fk["held_back_by"]],
            "stale": [{"id": c, "title": rows[c]["title"] if c in rows else "",
                       "reason": rows[c].get("stale_reason") if c in rows else None} for c in fk.get("stale") or []],
            "not_assessed": [{"id": c, "title": rows[c]["title"] if c in rows else ""} for c in fk["not_assessed"]],
            "missing": fk.get("missing") or [], "economy": fk.get("oekonomi")}


def _corrections(state, s) -> dict[int, dict[str, Any]]:
    """Every correction, keyed by the seq of the fact that now stands in place of the corrected one
    (a replacement has the correction's own seq), with what it corrected: its kind and its marker or
    criterion, so a withdrawn fact can be shown where it used to stand."""
    subject_of: dict[int, tuple[str, str]] = {}
    for o in state.observations:
        subject_of[o.seq] = ("marker", o.marker)
    for kind, history in (("marker", state.markers), ("criterion", state.criteria)):
        for subject, facts in history.items():
            for a in facts:
                subject_of[a.seq] = (kind, subject)
    for r in state.risks:
        subject_of[r.seq] = ("risk", r.subject)
    out = {}
    for c in s["corrections"]:
        note = next((x for x in state.corrections if x.seq == c["seq"]), None)
        kind, subject = subject_of.get(c["corrects"], (None, None))
        out[c["seq"]] = {**c, "type": event_name(state.types.get(c["corrects"], "")),
                         "occurred_at": note.occurred_at if note else None,
                         "corrected_at": _occurred_any(state, c["corrects"]),
                         "subject_kind": kind, "subject": subject}
    return out


def _occurred_any(state, seq: int) -> str | None:
    facts = [*state.observations, *state.risks, *(a for h in state.markers.values() for a in h),
             *(a for h in state.criteria.values() for a in h), *state.visits, *state.decisions]
    return next((f.occurred_at for f in facts if f.seq == seq), None)


def _theme(t, visits, corrections, state) -> dict[str, Any]:
    criteria = []
    for c in t["criteria"]:
        markers = []
        for m in c["markers"]:
            observations = []
            for o in m["observations"]:
                v = visits.get(o["visit"]) if o["visit"] else None
                observations.append({**o, "visit_aborted": bool(v and v["status"] == "afbrudt"),
                                     "visit_kind": v["kind"] if v else None,
                                     "correction": corrections.get(o["seq"])})
            cur = m["current"]
            markers.append({**m, "observations": observations,
                            "withdrawn": [x for x in corrections.values() if not x["replaced"]
                                          and x["subject_kind"] == "marker" and x["subject"] == m["id"]],
                            "correction": corrections.get(cur["seq"]) if cur else None,
                            "sources": sorted({o["source"] for o in m["observations"]}),
                            "methods": sorted({o["method"] for o in m["observations"]})})
        d = c["decided"]
        empty = d is None and c["risk"] is None and not any(mk["current"] or mk["observations"] or mk["withdrawn"]
                                                            for mk in markers)
        criteria.append({**c, "markers": markers, "correction": corrections.get(d["seq"]) if d else None,
                         "withdrawn": [x for x in corrections.values() if not x["replaced"]
                                       and x["subject_kind"] == "criterion" and x["subject"] == c["id"]],
                         "empty": empty})
    return {**t, "criteria": criteria}


def _risk(s, state, corrections) -> dict[str, Any]:
    history = s.get("risk_history")
    if history is None:  # a summary without the history: fold it from the state
        history = [{"colour": r.verdict, "reason": r.reason, "occurred_at": r.occurred_at, "actor": r.actor,
                    "seq": r.seq, "criterion": r.subject, "live": state.live(r.seq), "widened": []}
                   for r in state.risks]
    rows = [{**r, "verdict": r.get("colour") or r.get("verdict"), "criterion": r.get("criterion") or None,
             "correction": corrections.get(r["seq"]), "widened": r.get("widened") or []}
            for r in history if r.get("live", True)]
    return {"current": s["risk"], "history": rows}


def _decision(d, s, state) -> dict[str, Any]:
    """A decision with its legal content (fvl §§ 19, 22–25) as the documents show it."""
    titles = {c["id"]: c for t in s["themes"] for c in t["criteria"]}
    varsel = d.get("varsel")
    return {**d, "criteria_rows": [titles[c] for c in d["criteria"] if c in titles],
            "indhold": d.get("indhold"), "hjemmel": d.get("hjemmel"), "klagevejledning": d.get("klagevejledning"),
            "begrundelse": d["reason"], "frist": d.get("frist") or d["deadline"],
            "extensions": d.get("extensions") or [], "frist_begrundelse": d.get("frist_begrundelse"),
            "hearing": ({"varsel": varsel, "svar": varsel.get("svar") or [], "weighed": d.get("hoering_afvejning"),
                         "withdrawn": not d.get("varsel_live", True)} if varsel else None),
            "without_hearing": d.get("uden_partshoering")}


def _notice(v, s) -> dict[str, Any]:
    """A varsel (partshøring before a decision) as the letter shows it."""
    titles = {c["id"]: c for t in s["themes"] for c in t["criteria"]}
    return {**v, "criteria_rows": [titles[c] for c in v.get("criteria") or [] if c in titles],
            "begrundelse": v.get("reason")}


def _plan(s, sup, state) -> dict[str, Any]:
    templates = sup.catalog.of_kind("opfoelgningsplan")
    columns = ([(c.key, c.heading, " ".join(c.questions)) for c in templates[-1].columns] if templates
               else FALLBACK_COLUMNS)
    plan = s["plan"]
    when = {r.seq: r.occurred_at for i in state.plan() for r in i.revisions}
    items = sorted(({**i, "revisions": [{**r, "occurred_at": r.get("occurred_at") or when.get(r["seq"])}
                                        for r in i["revisions"]]} for i in plan["items"]),
                   key=lambda i: (i["fields"].get("priority") or 99, i["item"]))
    labels = {"start": "startdato", "slut": "slutdato", "priority": "prioritet",
              **{key: heading.rstrip("?").lower() for key, heading, _ in columns}}
    return {**plan, "items": items, "columns": columns, "labels": labels}


def _regional(s, state, sup) -> list[dict[str, Any]]:
    out = []
    for r in s["regional"]:
        try:
            std = sup.catalog.get(r["standard"], r["version"])
            contents = {i.number: list(i.contents) for t in std.trin for i in t.indikatorer}
            number, valid_from = std.number, std.valid_from.isoformat()
        except KeyError:
            contents, number, valid_from = {}, r["standard"], None
        checks = {(c.standard, c.indikator): c for c in state.live_checks()}
        trin = []
        for t in r["trin"]:
            inds = []
            for i in t["indikatorer"]:
                c = checks.get((r["standard"], i["number"]))
                inds.append({**i, "contents": contents.get(i["number"], []),
                             "checked_at": c.occurred_at if c else None})
            trin.append({**t, "indikatorer": inds, "done": sum(1 for i in inds if i["status"] == "opfyldt")})
        out.append({**r, "trin": trin, "number": number, "valid_from": valid_from})
    return out


def collect_basis(s, criteria: list[str]) -> list[dict[str, Any]]:
    """The criteria a decision names, each with its verdict, begrundelse and markers, from summary ``s``."""
    rows = {c["id"]: c for t in s["themes"] for c in t["criteria"]}
    return [rows[c] for c in criteria if c in rows]
