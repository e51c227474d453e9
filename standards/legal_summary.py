"""The legal parts of a tilbud's summary: status, master data, each decision's legal content, varsler.

Kept apart from :mod:`summary` (verdicts) so the two evolve separately; ``summarise`` merges these in.
Shapes are documented for the report and letters in /work/notes/legal.md.
"""

from __future__ import annotations

from typing import Any, Callable

from .projection import Decision, TilbudState, Varsel


def _svar(state: TilbudState, v: Varsel) -> list[dict[str, Any]]:
    return [{"seq": h.seq, "actor": h.actor, "text": h.text, "on_behalf": h.on_behalf, "occurred_at": h.occurred_at,
             "recorded_at": h.recorded_at} for h in state.live_svar(v)]


def varsel_dict(state: TilbudState, v: Varsel) -> dict[str, Any]:
    decided = state.decision_of_varsel(v.seq)
    return {"seq": v.seq, "kind": v.kind, "criteria": v.criteria, "indhold": v.indhold, "hjemmel": v.hjemmel,
            "reason": v.reason, "hoeringsfrist": v.hoeringsfrist, "deadline": v.deadline, "actor": v.actor,
            "occurred_at": v.occurred_at, "recorded_at": v.recorded_at, "svar": _svar(state, v),
            "decided_seq": decided.seq if decided else None}


def decision_details(state: TilbudState, d: Decision) -> dict[str, Any]:
    """What a written decision says besides kind, criteria and reason (fvl §§ 19, 22–25)."""
    v = next((x for x in state.varsler if x.seq == d.varsel), None) if d.varsel is not None else None
    return {
        "indhold": d.indhold, "hjemmel": d.hjemmel, "klagevejledning": d.klagevejledning,
        "frist": state.frist(d), "frist_begrundelse": d.frist_begrundelse,
        "varsel": varsel_dict(state, v) if v is not None else None,
        "varsel_live": v is not None and state.live(v.seq),
        "uden_partshoering": d.uden_partshoering, "hoering_afvejning": d.hoering_afvejning,
        "extensions": [{"seq": x.seq, "deadline": x.deadline, "previous": x.previous, "reason": x.reason,
                        "actor": x.actor, "occurred_at": x.occurred_at} for x in d.extensions if state.live(x.seq)],
        "confirmations": [c for c in d.confirmations if state.live(c)],
        "fulfil_basis": d.fulfil_basis,
    }


def legal_summary(state: TilbudState) -> dict[str, Any]:
    """The tilbud's legal status and master data, open varsler and anbefalinger."""
    return {
        "status": state.legal_status(), "registered_status": state.registered_status,
        "godkendt_dato": state.godkendt_dato, "master": dict(state.master),
        "varsler": [varsel_dict(state, v) for v in state.live_varsler()],
        "anbefalinger": [{"seq": a.seq, "criterion": a.criterion, "text": a.text, "actor": a.actor,
                          "occurred_at": a.occurred_at} for a in state.live_anbefalinger()],
    }


def with_details(state: TilbudState) -> Callable[[Decision], dict[str, Any]]:
    return lambda d: decision_details(state, d)
