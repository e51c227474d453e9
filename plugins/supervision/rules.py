"""Guards and findings for tilbud, visits, decisions and corrections (any standard)."""

from __future__ import annotations

from datetime import date

from tilsyn.standards import events as ev
from tilsyn.standards.danish import with_article
from tilsyn.standards.rules import Finding, FindingRule, GuardRule

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


def decision_basis(stmt, state, catalog):
    p = stmt.payload
    try:
        model = catalog.get(p["standard"], p["standard_version"])
    except KeyError as e:
        return f"ukendt standard: {e.args[0]}"
    for c in p["criteria"]:
        try:
            model.criterion(c)
        except (KeyError, AttributeError):
            return f"ukendt kvalitetskriterium {c!r} i {model.id}"
    # Seed 002, rule 4: every one of these decisions follows from a lack of fornøden kvalitet, so it
    # must rest on at least one criterion that stands at ikke opfyldt.
    if not p["criteria"]:
        return f"{with_article(p['kind'])} skal hvile på mindst ét kvalitetskriterium"
    failing = [c for c in p["criteria"]
               if (v := state.criterion_verdict(c)) is not None and v.verdict == "ikke opfyldt"]
    if not failing:
        return (f"{with_article(p['kind'])} kræver mindst ét kvalitetskriterium, der står som ikke opfyldt "
                f"(af {', '.join(p['criteria'])} er intet vurderet ikke opfyldt)")
    if p["kind"] in ev.ORDER_KINDS:
        if not p.get("deadline"):
            return f"{with_article(p['kind'])} kræver en frist (--deadline)"
        try:
            if date.fromisoformat(p["deadline"]) < date.fromisoformat(stmt.occurred_at[:10]):
                return f"fristen {p['deadline']} ligger før afgørelsen"
        except ValueError:
            return f"ugyldig frist {p['deadline']!r}"
    return None


def decision_open(stmt, state, catalog):
    d = state.decision(stmt.payload["decision"])
    if d is None:
        return f"ingen afgørelse med seq {stmt.payload['decision']} for dette tilbud"
    if d.status != "åben":
        return f"afgørelsen (seq {d.seq}) er allerede {d.status}"
    return None


def correction_target(stmt, state, catalog):
    target = stmt.payload["corrects"]
    kind = state.types.get(target)
    if kind is None:
        return f"seq {target} er ikke en hændelse for dette tilbud"
    if kind == ev.CORRECTION:
        return "en rettelse kan ikke rettes; ret den oprindelige hændelse igen"
    if target in state.withdrawn:
        return f"seq {target} er allerede rettet (af seq {state.withdrawn[target]})"
    original = _actor_of(state, target)
    if original is not None and original != stmt.actor:
        return f"kun den, der registrerede seq {target} ({original}), kan rette den"
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
    for coll in (state.visits, state.observations, state.risks, state.decisions, state.approvals,
                 state.indikator_checks, state.monitorings,
                 [a for h in state.markers.values() for a in h], [a for h in state.criteria.values() for a in h],
                 list(state.plan_items.values()), [r for i in state.plan_items.values() for r in i.revisions]):
        for fact in coll:
            if fact.seq == seq:
                return fact.actor
    return None


GUARDS = [
    GuardRule("tilbud-registreret", "Hændelser kræver et registreret tilbud; et tilbud registreres én gang.",
              tilbud_known),
    GuardRule("besoeg-forloeb", "Et besøg startes én gang og afsluttes eller afbrydes, mens det er i gang.",
              visit_flow, (ev.VISIT_STARTED, ev.VISIT_COMPLETED, ev.VISIT_ABORTED)),
    GuardRule("afgoerelse-grundlag", "En afgørelse hviler på kendte kriterier; et påbud kræver en frist og mindst "
              "ét kriterium, der står som ikke opfyldt.", decision_basis, (ev.DECISION_ISSUED,)),
    GuardRule("afgoerelse-aaben", "Kun en åben afgørelse kan ophæves eller efterkommes.", decision_open,
              (ev.DECISION_LIFTED, ev.DECISION_FULFILLED)),
    GuardRule("rettelse-maal", "En rettelse peger på en eksisterende hændelse i tilbuddet, registreret af samme "
              "person, og en erstatning har den rettede hændelses form.", correction_target, (ev.CORRECTION,)),
]


def overdue_orders(state, catalog, settings):
    today = date.fromisoformat(settings["today"])
    for d in state.open_decisions():
        if d.kind not in ev.ORDER_KINDS or not d.deadline or date.fromisoformat(d.deadline) >= today:
            continue
        answering = [i for i in state.plan() if state.item_fields(i).get("answers") == d.seq]
        approved = [i for i in answering if state.item_approved(i)]
        if not approved:
            what = "intet punkt i opfølgningsplanen besvarer det" if not answering else \
                "planpunkterne, der besvarer det, er ikke godkendt af tilbudslederen"
            yield Finding("paabud-frist-overskredet", "alvorlig", f"afgørelse seq {d.seq}",
                          f"{d.kind} med frist {d.deadline} er overskredet, og {what}",
                          (d.seq, *(i.seq for i in answering)))


def plan_after_deadline(state, catalog, settings):
    for d in state.open_decisions():
        if d.kind not in ev.ORDER_KINDS or not d.deadline:
            continue
        for item in state.plan():
            fields = state.item_fields(item)
            if fields.get("answers") == d.seq and fields.get("slut", "") != ev.VARIG_ORDNING \
                    and fields.get("slut", "") > d.deadline:
                yield Finding("plan-slutter-efter-frist", "advarsel", f"planpunkt {item.item}",
                              f"planpunktet, der besvarer {d.kind} (seq {d.seq}), slutter {fields['slut']}, "
                              f"efter fristen {d.deadline}", (d.seq, item.seq))


FINDINGS = [
    FindingRule("plan-slutter-efter-frist", "Et planpunkt, der besvarer et påbud, slutter efter påbuddets frist.",
                plan_after_deadline),
    FindingRule("paabud-frist-overskredet", "Et påbud er over fristen uden et godkendt planpunkt, der besvarer det.",
                overdue_orders),
]
