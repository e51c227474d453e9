"""Derived facts about a tilbud: verdicts by theme, *fornøden kvalitet*, risk, decisions, plan, indikatorer.

Everything here is computed from a :class:`~tilsyn.standards.projection.TilbudState` and the catalog,
never stored. Verdicts computed from the markers are *suggestions*; the supervisor's signed verdict is
the legal fact, and both are shown. Every fact lists the seqs it rests on.
"""

from __future__ import annotations

from typing import Any, Callable

from .legal_summary import decision_details, legal_summary
from .projection import Assessment, TilbudState


def quality_model_of(state: TilbudState, catalog) -> Any:
    """The quality model this tilbud is assessed under: that of its latest assessment, else the newest."""
    for history in (state.criteria, state.markers):
        latest = max((a for h in history.values() for a in h if state.live(a.seq)), key=lambda a: a.seq, default=None)
        if latest is not None:
            try:
                return catalog.get(latest.standard, latest.standard_version)
            except KeyError:
                pass
    models = catalog.of_kind("kvalitetsmodel")
    return models[-1] if models else None


def marker_applies(marker, state: TilbudState) -> bool:
    """Whether a marker applies to this tilbud (else it may be *ikke aktuel*)."""
    if state.tilbud_type in marker.not_applicable_to:
        return False
    if "bestyrelse" in marker.requires and not state.has_board:
        return False
    return True


def element_applies(element, state: TilbudState) -> bool:
    return state.tilbud_type not in element.not_applicable_to


def suggested_criterion_verdict(criterion, state: TilbudState) -> tuple[str | None, list[int]]:
    """Seed 002, rule 3: any marker *ikke til stede* → *ikke opfyldt*; all assessed otherwise → *opfyldt*."""
    verdicts = [(m.id, state.marker_verdict(m.id)) for m in criterion.markers]
    seqs = [a.seq for _, a in verdicts if a is not None]
    if any(a is not None and a.verdict == "ikke til stede" for _, a in verdicts):
        return "ikke opfyldt", seqs
    if all(a is not None for _, a in verdicts):
        return "opfyldt", seqs
    return None, seqs


def criterion_standing(criterion, state: TilbudState) -> dict[str, Any]:
    """Where a criterion stands under seed 002's rule 3, judged on its markers *now*.

    ``missing``: applicable markers without a live verdict (a marker the model says does not apply needs
    none); ``absent``: markers *ikke til stede*. A signed *opfyldt* is ``stale`` when it no longer rests on
    assessed markers — one turned *ikke til stede*, or lost its verdict by a correction — and then does
    not count as opfyldt until the criterion is reassessed.
    """
    missing, absent = [], []
    for m in criterion.markers:
        verdict = state.marker_verdict(m.id)
        if verdict is None:
            if marker_applies(m, state):
                missing.append(m.id)
        elif verdict.verdict == "ikke til stede":
            absent.append(m.id)
    decided = state.criterion_verdict(criterion.id)
    stale_reason = None
    if decided is not None and decided.verdict == "opfyldt":
        if absent:
            stale_reason = (f"står som opfyldt, men markør {', '.join(absent)} er nu vurderet ikke til stede; "
                            f"kriteriet skal vurderes igen")
        elif missing:
            stale_reason = (f"står som opfyldt, men markør {', '.join(missing)} har ingen gældende vurdering; "
                            f"kriteriet skal vurderes igen")
    return {"decided": decided, "missing": missing, "absent": absent, "stale": stale_reason is not None,
            "stale_reason": stale_reason}


FORNOEDEN_TEXT = {True: "ja", False: "nej", None: "ikke afgjort"}


def fornoeden_kvalitet(state: TilbudState, model) -> dict[str, Any]:
    """Seed 002: fornøden kvalitet = every criterion of every theme opfyldt, *and* temaet økonomi.

    *ja* only when every criterion of ``model`` stands opfyldt on assessed markers (none stale) and a
    signed økonomi assessment is opfyldt; *nej* as soon as one criterion or økonomi is ikke opfyldt or a
    marker is ikke til stede (its criterion cannot be opfyldt); otherwise *ikke afgjort*. ``missing`` says,
    in Danish, what stands between the tilbud and *ja*.
    """
    held_back, not_assessed, stale, seqs = [], [], [], []
    markers_missing: dict[str, list[str]] = {}
    markers_absent: dict[str, list[str]] = {}
    missing: list[str] = []
    if model is not None:
        for crit in model.criteria():
            st = criterion_standing(crit, state)
            decided = st["decided"]
            if st["missing"]:
                markers_missing[crit.id] = st["missing"]
            if st["absent"]:
                markers_absent[crit.id] = st["absent"]
            if decided is None:
                not_assessed.append(crit.id)
                what = "er ikke vurderet"
                if st["absent"]:
                    what += f" (markør {', '.join(st['absent'])} er ikke til stede)"
                missing.append(f"kriterium {crit.id} {what}")
            elif decided.verdict == "ikke opfyldt":
                held_back.append(crit.id)
                seqs.append(decided.seq)
                missing.append(f"kriterium {crit.id} er ikke opfyldt")
            elif st["stale"]:
                stale.append(crit.id)
                seqs.append(decided.seq)
                missing.append(f"kriterium {crit.id} {st['stale_reason']}")
            else:
                seqs.append(decided.seq)
            for mid in st["absent"] if decided is not None else ():
                seqs.append(state.marker_verdict(mid).seq)
    else:
        missing.append("ingen kvalitetsmodel er i brug")
    oek = state.oekonomi_verdict()
    if oek is None:
        missing.append("temaet økonomi er ikke vurderet")
    else:
        seqs.append(oek.seq)
        if oek.verdict == "ikke opfyldt":
            missing.append("temaet økonomi er ikke opfyldt")
    if held_back or markers_absent or (oek is not None and oek.verdict == "ikke opfyldt"):
        value: bool | None = False
    elif model is not None and not not_assessed and not stale and oek is not None:
        value = True
    else:
        value = None
    if value is True:
        reasons = [f"alle {len(list(model.criteria()))} kvalitetskriterier i {model.title} er opfyldt på vurderede "
                   f"kvalitetsmarkører", "temaet økonomi er vurderet opfyldt"]
    else:
        reasons = list(missing)
    return {"value": value, "text": FORNOEDEN_TEXT[value], "reasons": reasons,
            "held_back_by": held_back, "not_assessed": not_assessed,
            "stale": stale, "markers_missing": markers_missing, "markers_absent": markers_absent,
            "oekonomi_verdict": oek.verdict if oek is not None else None,
            "missing": missing, "seqs": sorted(set(seqs))}


def _plain(fact, field: str) -> str:
    return getattr(fact, field)


def summarise(state: TilbudState, catalog, reveal: Callable[[Any, str], str] = _plain) -> dict[str, Any]:
    """The whole current picture of a tilbud, JSON-ready.

    ``reveal(fact, field)`` turns a possibly sealed personal field into what this reader may see
    (see :meth:`Supervision.reveal`); by default values are shown as stored.
    """

    def _assessment(a: Assessment | None) -> dict[str, Any] | None:
        if a is None:
            return None
        return {"verdict": a.verdict, "reason": reveal(a, "reason"), "actor": a.actor, "occurred_at": a.occurred_at,
                "recorded_at": a.recorded_at, "seq": a.seq, "standard": f"{a.standard}@{a.standard_version}",
                "data_subject": a.data_subject}

    def _observation(o) -> dict[str, Any]:
        return {"seq": o.seq, "source": o.source, "method": o.method, "element": o.element, "visit": o.visit,
                "text": reveal(o, "text"), "actor": o.actor, "occurred_at": o.occurred_at, "data_subject": o.subject,
                "interview_form": interview_form(o), "instead_of_interview": o.instead_of_interview}

    model = quality_model_of(state, catalog)
    themes = []
    earlier = earlier_indikatorer(model, catalog)
    by_marker: dict[str, list] = {}  # live observations per marker, in order: one pass, not one per marker
    for o in state.live_observations():
        by_marker.setdefault(o.marker, []).append(o)
    if model is not None:
        for theme in model.themes:
            crit_rows = []
            for crit in theme.criteria:
                decided = state.criterion_verdict(crit.id)
                suggestion, basis = suggested_criterion_verdict(crit, state)
                markers = [{"id": m.id, "title": m.title, "applies": marker_applies(m, state),
                            "earlier": earlier.get(m.id, []),
                            "current": _assessment(state.marker_verdict(m.id)),
                            "observations": [_observation(o) for o in by_marker.get(m.id, ())]}
                           for m in crit.markers]
                risk = state.risk(crit.id)
                standing = criterion_standing(crit, state)
                crit_rows.append({"id": crit.id, "title": crit.title, "decided": _assessment(decided),
                                  "suggested": suggestion, "suggested_from": basis,
                                  "differs": decided is not None and suggestion is not None and decided.verdict != suggestion,
                                  "stale": standing["stale"], "stale_reason": standing["stale_reason"],
                                  "risk": _assessment(risk), "markers": markers})
            verdicts = [None if c["stale"] else c["decided"]["verdict"] if c["decided"] else None for c in crit_rows]
            status = ("ikke opfyldt" if "ikke opfyldt" in verdicts else
                      "opfyldt" if all(v == "opfyldt" for v in verdicts) else "ikke vurderet")
            themes.append({"id": theme.id, "title": theme.title, "status": status, "criteria": crit_rows})
    fk = fornoeden_kvalitet(state, model)
    risk = state.risk("")
    suggested_risk = "rød" if fk["value"] is False else ("grøn" if fk["value"] else None)
    oek = state.oekonomi_verdict()
    return {
        "tilbud": state.tilbud, "name": state.name, "tilbud_type": state.tilbud_type, "has_board": state.has_board,
        "registered_seq": state.registered_seq, "as_of_seq": state.last_seq, "as_of_recorded_at": state.last_recorded_at,
        "stream_version": state.stream_version,
        "quality_model": f"{model.id}@{model.version}" if model is not None else None,
        "fornoeden_kvalitet": fk | {"oekonomi": _assessment(oek)},
        "oekonomi": _assessment(oek),
        "risk": _assessment(risk), "suggested_risk": suggested_risk,
        "risk_history": _risk_history(state, reveal),
        "themes": themes,
        "visits": [{"visit": v.visit, "kind": v.kind, "status": v.status, "seq": v.seq, "closed_seq": v.closed_seq,
                    "occurred_at": v.occurred_at, "actor": v.actor, "abort_reason": v.abort_reason,
                    "participants": list(v.participants),
                    "counts": v.status == "gennemført"} for v in state.live_visits()],
        "decisions": [{"seq": d.seq, "kind": d.kind, "criteria": d.criteria, "deadline": d.deadline,
                       "reason": d.reason, "status": d.status, "actor": d.actor, "occurred_at": d.occurred_at,
                       "closed_seq": d.closed_seq, "closed_reason": d.closed_reason, "basis": d.basis,
                       "standard": f"{d.standard}@{d.standard_version}", "rule_versions": d.rule_versions,
                       **decision_details(state, d)}  # legal (issue 13)
                      for d in state.live_decisions()],
        "legal": legal_summary(state),  # legal (issue 13): status, master data, varsler, anbefalinger
        "plan": {
            "revision": state.plan_revision, "approved": state.plan_approved(),
            "approval": ({"seq": a.seq, "actor": a.actor, "plan_revision": a.plan_revision, "occurred_at": a.occurred_at}
                         if (a := state.approval()) else None),
            "items": [{"item": i.item, "seq": i.seq, "actor": i.actor, "fields": state.item_fields(i),
                       "revisions": [{"seq": r.seq, "changes": r.changes, "reason": r.reason, "actor": r.actor,
                                      "live": state.live(r.seq)} for r in i.revisions],
                       "result": i.result, "result_seq": i.result_seq, "approved": state.item_approved(i)}
                      for i in state.plan()],
        },
        "regional": _regional(state, catalog),
        "corrections": [{"seq": c.seq, "corrects": c.corrects, "reason": c.reason, "replaced": c.replaced,
                         "actor": c.actor} for c in state.corrections],
    }


def earlier_indikatorer(model, catalog) -> dict[str, list[dict[str, str]]]:
    """Marker id → the older model's indikatorer that map to it (a modelkort onto ``model``), for trends."""
    out: dict[str, list[dict[str, str]]] = {}
    if model is None:
        return out
    for mapping in catalog.of_kind("modelkort"):
        if mapping.target != f"{model.id}@{model.version}":
            continue
        for ind in mapping.indikatorer:
            for mid in ind.maps_to:
                out.setdefault(mid, []).append({"model": f"{mapping.id}@{mapping.version}", "indikator": ind.id,
                                                "text": ind.text, "full_text": ind.full_text})
    return out


def interview_form(observation) -> str | None:
    """The form of an interview (seed 002: the physical interview unless another is recorded)."""
    if observation.method not in ("interview", "trianguleringsinterview"):
        return None
    return observation.interview_form or "fysisk"


def _risk_history(state: TilbudState, reveal) -> list[dict[str, Any]]:
    """Every risk colour ever recorded, in order, with the widenings recorded under it."""
    current = {r.seq for r in (state.risk(s) for s in {r.subject for r in state.risks}) if r is not None}
    rows = []
    for i, r in enumerate(state.risks):
        later = [x.seq for x in state.risks[i + 1:] if x.subject == r.subject and state.live(x.seq)]
        until = min(later) if later else None
        widened = [{"seq": w.seq, "doubt": reveal(w, "doubt"), "elements": list(w.elements),
                    "ways": [{"marker": x.marker, "method": x.method, "source": x.source} for x in w.ways],
                    "actor": w.actor, "occurred_at": w.occurred_at, "live": state.live(w.seq)}
                   for w in state.widenings
                   if w.criterion == r.subject and w.seq > r.seq and (until is None or w.seq < until)]
        rows.append({"colour": r.verdict, "verdict": r.verdict, "criterion": r.subject, "reason": reveal(r, "reason"), "actor": r.actor,
                     "seq": r.seq, "occurred_at": r.occurred_at, "recorded_at": r.recorded_at,
                     "live": state.live(r.seq), "current": r.seq in current, "widened": widened})
    return rows


def regional_standards_of(state: TilbudState, catalog) -> list[Any]:
    """Regional standards this tilbud is under: declared at registration or checked against."""
    ids = list(dict.fromkeys([*state.regional_standards, *(c.standard for c in state.live_checks()),
                              *(m.standard for m in state.monitorings if state.live(m.seq))]))
    out = []
    for sid in ids:
        try:
            out.append(catalog.get(sid))
        except KeyError:
            continue
    return out


def _regional(state: TilbudState, catalog) -> list[dict[str, Any]]:
    rows = []
    for std in regional_standards_of(state, catalog):
        mon = state.last_monitoring(std.id)
        trin_rows = []
        for trin in std.trin:
            inds = []
            for ind in trin.indikatorer:
                c = state.indikator_status(std.id, ind.number)
                inds.append({"number": ind.number, "text": ind.text,
                             "status": c.verdict if c else None, "reason": c.reason if c else None,
                             "seq": c.seq if c else None, "actor": c.actor if c else None})
            trin_rows.append({"number": trin.number, "title": trin.title, "cadence_years": trin.cadence_years,
                              "indikatorer": inds})
        rows.append({"standard": std.id, "version": std.version, "title": std.title, "trin": trin_rows,
                     "last_monitoring": {"date": mon.date, "seq": mon.seq} if mon else None})
    return rows
