"""Guards and findings for tilbud, visits, decisions and corrections (any standard)."""

from __future__ import annotations

from tilsyn.standards import events as ev
from tilsyn.standards.rules import GuardRule

_ANY_BUT_REGISTRATION = tuple(t for t in ev.PAYLOAD_TYPES if t != ev.TILBUD_REGISTERED)


def tilbud_known(stmt, state, catalog):
    if stmt.type == ev.TILBUD_REGISTERED:
        if state.registered_seq is not None:
            return f"tilbud {state.tilbud!r} er allerede registreret (seq {state.registered_seq})"
        if stmt.stream != ev.tilbud_stream(stmt.payload["tilbud"]):
            return "tilbuddets id skal svare til strømmen"
        for sid in stmt.payload.get("regional_standards", []):
            try:
                std = catalog.get(sid)
            except KeyError as e:
                return f"ukendt regional standard: {e.args[0]}"
            if std.kind != "regional":
                return f"{sid} er ikke en regional kvalitetsstandard"
        return None
    if state.registered_seq is None:
        return f"ukendt tilbud: {stmt.stream.split('/', 1)[1]!r} er ikke registreret"
    return None


def visit_flow(stmt, state, catalog):
    visits = [v for v in state.live_visits() if v.visit == stmt.payload["visit"]]
    if stmt.type == ev.VISIT_STARTED:
        if visits:
            return f"besøget {stmt.payload['visit']!r} findes allerede"
        return None
    if not visits:
        return f"ukendt besøg {stmt.payload['visit']!r}"
    if visits[-1].status != "i gang":
        return f"besøget {stmt.payload['visit']!r} er allerede {visits[-1].status}"
    return None


def correction_target(stmt, state, catalog, settings):
    target = stmt.payload["corrects"]
    kind = state.types.get(target)
    if kind is None:
        return f"seq {target} er ikke en hændelse for dette tilbud"
    if kind == ev.CORRECTION:
        return "en rettelse kan ikke rettes; ret den oprindelige hændelse igen"
    if target in state.withdrawn:
        return f"seq {target} er allerede rettet (af seq {state.withdrawn[target]})"
    original = _actor_of(state, target)
    # The original actor or a tilsynsleder: a konsulent who has left must not freeze the record.
    if original is not None and original != stmt.actor and "tilsynsleder" not in (settings.get("actor_roles") or ()):
        return f"kun den, der registrerede seq {target} ({original}), eller en tilsynsleder kan rette den"
    replacement = stmt.payload.get("replacement")
    if replacement is not None:
        from tilsyn.standards.projection import REPLACEABLE_TYPES
        import msgspec

        if kind not in REPLACEABLE_TYPES:
            return f"en hændelse af typen {kind} kan trækkes tilbage, men ikke erstattes"
        try:
            msgspec.convert(replacement, ev.PAYLOAD_TYPES[kind], strict=True)
        except msgspec.ValidationError as e:
            return f"erstatningen passer ikke til {kind}: {e}"
    return None


def _actor_of(state, seq):
    fact = fact_of(state, seq)
    return fact.actor if fact is not None else None


def fact_of(state, seq):
    """The recorded fact (visit, observation, verdict, decision, varsel …) at ``seq``, if the state keeps one."""
    for coll in (state.visits, state.observations, state.risks, state.decisions, state.approvals,
                 state.indikator_checks, state.monitorings,
                 [a for h in state.markers.values() for a in h], [a for h in state.criteria.values() for a in h],
                 list(state.plan_items.values()), [r for i in state.plan_items.values() for r in i.revisions],
                state.varsler, [h for v in state.varsler for h in v.svar], state.anbefalinger,
                [x for d in state.decisions for x in d.extensions], getattr(state, "oekonomi", []),
                getattr(state, "widenings", [])):
        for fact in coll:
            if fact.seq == seq:
                return fact
    return None


GUARDS = [
    GuardRule("tilbud-registreret", "Hændelser kræver et registreret tilbud; et tilbud registreres én gang.",
              tilbud_known),
    GuardRule("besoeg-forloeb", "Et besøg startes én gang og afsluttes eller afbrydes, mens det er i gang.",
              visit_flow, (ev.VISIT_STARTED, ev.VISIT_COMPLETED, ev.VISIT_ABORTED)),
    GuardRule("rettelse-maal", "En rettelse peger på en eksisterende hændelse i tilbuddet, registreret af samme "
              "person eller rettet af en tilsynsleder, og en erstatning har den rettede hændelses form.",
              correction_target, (ev.CORRECTION,), with_settings=True),
]
