"""Rules for the follow-up plan (*opfølgningsplan*, seeds 000 and 001).

The plan is made by the tilbud's management and staff in dialogue with the supervisor, must be
approved by the management, and is revised continuously ("konsekvensrettes"). A row may answer a
*påbud*.
"""

from __future__ import annotations

from datetime import date

from tilsyn.standards import events as ev
from tilsyn.standards.danish import with_article
from tilsyn.standards.rules import Finding, FindingRule, GuardRule

_DATE_FIELDS = ("start", "slut")
_REVISABLE = set(ev.PLAN_FIELDS) | {"priority", "answers"}


def _dates_ok(fields):
    try:
        start, end = date.fromisoformat(fields["start"]), date.fromisoformat(fields["slut"])
    except (ValueError, TypeError):
        return "start og slut skal være datoer (ÅÅÅÅ-MM-DD)"
    if end < start:
        return f"slut {fields['slut']} ligger før start {fields['start']}"
    return None


def _answers_ok(state, answers):
    if answers is None:
        return None
    d = state.decision(answers)
    if d is None:
        return f"planpunktet besvarer seq {answers}, som ikke er en afgørelse for dette tilbud"
    if d.kind not in ev.ORDER_KINDS:
        return f"seq {answers} er {with_article(d.kind)}, ikke et påbud"
    return None


def item_valid(stmt, state, catalog):
    p = stmt.payload
    if stmt.type == ev.PLAN_ITEM_ADDED:
        existing = state.plan_items.get(p["item"])
        if existing is not None and state.live(existing.seq):
            return f"planpunkt {p['item']!r} findes allerede; brug plan revise"
        return _dates_ok(p) or _answers_ok(state, p.get("answers"))
    item = state.plan_items.get(p["item"])
    if item is None or not state.live(item.seq):
        known = ", ".join(i.item for i in state.plan()) or "ingen"
        return f"ukendt planpunkt {p['item']!r} (planpunkter: {known})"
    if stmt.type == ev.PLAN_ITEM_REVISED:
        unknown = set(p["changes"]) - _REVISABLE
        if unknown:
            return f"ukendte kolonner {', '.join(sorted(unknown))}; kolonner: {', '.join(sorted(_REVISABLE))}"
        if not p["changes"]:
            return "en revision skal ændre mindst én kolonne"
        merged = state.item_fields(item) | p["changes"]
        return _dates_ok(merged) or _answers_ok(state, p["changes"].get("answers"))
    return None


def approval_valid(stmt, state, catalog):
    if not state.plan():
        return "opfølgningsplanen har ingen punkter at godkende"
    if stmt.payload["plan_revision"] != state.plan_revision:
        return (f"godkendelsen gælder revision {stmt.payload['plan_revision']}, men planen er nu i revision "
                f"{state.plan_revision}")
    return None


GUARDS = [
    GuardRule("planpunkt-gyldigt", "Planpunkter findes, har gyldige datoer, kendte kolonner og besvarer et påbud.",
              item_valid, (ev.PLAN_ITEM_ADDED, ev.PLAN_ITEM_REVISED, ev.PLAN_RESULT)),
    GuardRule("plan-godkendelse", "En godkendelse gælder planen, som den står nu.", approval_valid,
              (ev.PLAN_APPROVED,)),
]


def plan_not_approved(state, catalog, settings):
    if not state.plan() or state.plan_approved():
        return
    approval = state.approval()
    if approval is None:
        message = "opfølgningsplanen er ikke godkendt af tilbudslederen"
    else:
        message = (f"opfølgningsplanen er ændret efter godkendelsen (godkendt revision {approval.plan_revision}, "
                   f"nu revision {state.plan_revision})")
    yield Finding("plan-ikke-godkendt", "advarsel", "opfølgningsplan", message,
                  tuple(sorted(state.plan_items_seqs())))


FINDINGS = [
    FindingRule("plan-ikke-godkendt", "Opfølgningsplanen er ikke godkendt af en tilbudsleder i sin nuværende form.",
                plan_not_approved),
]
