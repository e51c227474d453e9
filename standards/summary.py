"""Derived facts about a tilbud: verdicts by theme, *fornøden kvalitet*, risk, decisions, plan, indikatorer.

Everything here is computed from a :class:`~tilsyn.standards.projection.TilbudState` and the catalog,
never stored. Verdicts computed from the markers are *suggestions*; the supervisor's signed verdict is
the legal fact, and both are shown. Every fact lists the seqs it rests on.
"""

from __future__ import annotations

from typing import Any, Callable

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
                "text": reveal(o, "text"), "actor": o.actor, "occurred_at": o.occurred_at, "data_subject": o.subject}

    model = quality_model_of(state, catalog)
    themes, held_back, missing = [], [], []
    if model is not None:
        for theme in model.themes:
            crit_rows = []
            for crit in theme.criteria:
                decided = state.criterion_verdict(crit.id)
                suggestion, basis = suggested_criterion_verdict(crit, state)
                markers = [{"id": m.id, "title": m.title, "applies": marker_applies(m, state),
                            "current": _assessment(state.marker_verdict(m.id)),
                            "observations": [_observation(o) for o in state.live_observations(m.id)]}
                           for m in crit.markers]
                risk = state.risk(crit.id)
                crit_rows.append({"id": crit.id, "title": crit.title, "decided": _assessment(decided),
                                  "suggested": suggestion, "suggested_from": basis,
                                  "differs": decided is not None and suggestion is not None and decided.verdict != suggestion,
                                  "risk": _assessment(risk), "markers": markers})
                if decided is None:
                    missing.append(crit.id)
                elif decided.verdict == "ikke opfyldt":
                    held_back.append(crit.id)
            verdicts = [c["decided"]["verdict"] if c["decided"] else None for c in crit_rows]
            status = ("ikke opfyldt" if "ikke opfyldt" in verdicts else
                      "opfyldt" if all(v == "opfyldt" for v in verdicts) else "ikke vurderet")
            themes.append({"id": theme.id, "title": theme.title, "status": status, "criteria": crit_rows})
    fornoeden = False if held_back else (True if not missing and model is not None else None)
    risk = state.risk("")
    suggested_risk = "rød" if held_back else ("grøn" if fornoeden else None)
    return {
        "tilbud": state.tilbud, "name": state.name, "tilbud_type": state.tilbud_type, "has_board": state.has_board,
        "registered_seq": state.registered_seq, "as_of_seq": state.last_seq, "as_of_recorded_at": state.last_recorded_at,
        "stream_version": state.stream_version,
        "quality_model": f"{model.id}@{model.version}" if model is not None else None,
        "fornoeden_kvalitet": {"value": fornoeden, "held_back_by": held_back, "not_assessed": missing,
                               "seqs": sorted(state.criterion_verdict(c).seq for c in held_back)},
        "risk": _assessment(risk), "suggested_risk": suggested_risk,
        "themes": themes,
        "visits": [{"visit": v.visit, "kind": v.kind, "status": v.status, "seq": v.seq, "closed_seq": v.closed_seq,
                    "occurred_at": v.occurred_at, "actor": v.actor, "abort_reason": v.abort_reason,
                    "counts": v.status == "gennemført"} for v in state.live_visits()],
        "decisions": [{"seq": d.seq, "kind": d.kind, "criteria": d.criteria, "deadline": d.deadline,
                       "reason": d.reason, "status": d.status, "actor": d.actor, "occurred_at": d.occurred_at,
                       "closed_seq": d.closed_seq, "closed_reason": d.closed_reason, "basis": d.basis,
                       "standard": f"{d.standard}@{d.standard_version}", "rule_versions": d.rule_versions}
                      for d in state.live_decisions()],
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
