"""Rules for the follow-up plan (*opfølgningsplan*, seeds 000 and 001).

The plan is made by the tilbud's management and staff in dialogue with the supervisor, must be
approved by the management, and is revised continuously ("konsekvensrettes"). A row may answer a
*påbud*.
"""

from __future__ import annotations

from datetime import date

from tilsyn.standards import events as ev
from tilsyn.standards.danish import with_article
from tilsyn.standards.summary import quality_model_of
from tilsyn.standards.rules import Finding, FindingRule, GuardRule

_DATE_FIELDS = ("start", "slut")
_REVISABLE = set(ev.PLAN_FIELDS) | {"priority", "answers", "criterion", "anbefaling", "regional"}
ANSWERABLE_KINDS = (*ev.ORDER_KINDS, "godkendelse med vilkår")
"""A row answers a påbud or a vilkår (seed 000/001: «opfølgningen på eventuelle afgørelser om påbud»); an
anbefaling is answered by its text (``anbefaling``)."""


def _dates_ok(fields):
    try:
        start = date.fromisoformat(fields["start"])
        end = None if fields["slut"] == ev.VARIG_ORDNING else date.fromisoformat(fields["slut"])
    except (ValueError, TypeError):
        return f"start skal være en dato og slut en dato eller «{ev.VARIG_ORDNING}» (ÅÅÅÅ-MM-DD)"
    if end is not None and end < start:
        return f"slut {fields['slut']} ligger før start {fields['start']}"
    return None


def _answers_ok(state, answers):
    if answers is None:
        return None
    d = state.decision(answers)
    if d is None and any(a.seq == answers and state.live(a.seq) for a in getattr(state, "anbefalinger", [])):
        return None  # an anbefaling given as an event (seed 000/001: «opfølgning … på baggrund af … anbefalinger»)
    if d is None:
        return f"planpunktet besvarer seq {answers}, som ikke er en afgørelse eller anbefaling for dette tilbud"
    if d.kind not in ANSWERABLE_KINDS:
        return f"seq {answers} er {with_article(d.kind)}, ikke et påbud eller en godkendelse med vilkår"
    return None


def _norm(text: str) -> str:
    return " ".join(text.replace("–", " ").replace(":", " ").split()).strip(" .").lower()


def resolve_tema(tema: str, tema_standard: str | None, state, catalog):
    """The theme a plan row's TEMA names, in the model version the plan refers to.

    Returns ``(standard, theme id, theme title, 2025 theme id it maps to or None, error)``. Accepted: the
    theme's number, its title (any case), or both («2 Sundhed og trivsel», «Tema 2: …»). A theme of an older
    model only when the row names that model (``tema_standard``, a modelkort).
    """
    if tema_standard:
        sid, _, version = tema_standard.partition("@")
        try:
            std = catalog.get(sid, version or None)
        except KeyError as e:
            return None, None, None, None, f"ukendt kvalitetsmodel for TEMA: {e.args[0]}"
    else:
        std = quality_model_of(state, catalog)
        if std is None:
            return None, None, None, None, None
    if std.kind not in ("kvalitetsmodel", "modelkort"):
        return None, None, None, None, f"{std.id} er ikke en kvalitetsmodel"
    wanted = _norm(tema)
    if wanted.startswith("tema "):
        wanted = wanted[5:]
    for theme in std.themes:
        titles = [theme.title, *getattr(theme, "aliases", ())]
        forms = {_norm(theme.id)} | {_norm(t) for t in titles} | {_norm(f"{theme.id} {t}") for t in titles} \
            | {_norm(f"{theme.id}. {t}") for t in titles}
        if wanted in forms:
            return std, theme.id, theme.title, getattr(theme, "maps_to", None), None
    names = "; ".join(f"{t.id} {t.title}" for t in std.themes)
    hint = ""
    if std.kind == "kvalitetsmodel":
        for older in catalog.of_kind("modelkort"):
            if any(wanted in {_norm(t.title), *map(_norm, t.aliases)} for t in older.themes):
                hint = (f"; «{tema}» er et tema i {older.title}: angiv den model (--tema-standard "
                        f"{older.id}@{older.version})")
    return None, None, None, None, f"TEMA «{tema}» er ikke et tema i {std.id}@{std.version} (temaer: {names}){hint}"


def _target_model(std, catalog):
    if std is None:
        return None
    if std.kind == "modelkort":
        sid, _, version = std.target.partition("@")
        return catalog.get(sid, version)
    return std


def _quality_columns_ok(fields, state, catalog):
    """TEMA against the themes of the model the plan refers to; the criterion it lifts; the regional standard."""
    std, _tid, _title, _maps, error = resolve_tema(fields["tema"], fields.get("tema_standard"), state, catalog)
    if error:
        return error
    if fields.get("criterion"):
        model = _target_model(std, catalog) or quality_model_of(state, catalog)
        try:
            model.criterion(fields["criterion"])
        except (KeyError, AttributeError):
            return f"planpunktet løfter kriterium {fields['criterion']!r}, som ikke findes i {model.id}"
    if fields.get("regional"):
        try:
            reg = catalog.get(fields["regional"])
        except KeyError as e:
            return f"ukendt regional standard: {e.args[0]}"
        if reg.kind != "regional":
            return f"{reg.id} er ikke en regional kvalitetsstandard"
        if not state.regional_standards:
            return f"{reg.id} gælder for «{reg.scope}», og tilbuddet er ikke registreret som et regionalt tilbud"
    return None


def item_valid(stmt, state, catalog):
    p = stmt.payload
    if stmt.type == ev.PLAN_ITEM_ADDED:
        existing = state.plan_items.get(p["item"])
        if existing is not None and state.live(existing.seq):
            return f"planpunkt {p['item']!r} findes allerede; brug plan revise"
        return _dates_ok(p) or _answers_ok(state, p.get("answers")) or _quality_columns_ok(p, state, catalog)
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
        for key in ("tema", "emne", "maal", "hvad", "hvordan", "dokumentation", "hvem", "anbefaling", "criterion",
                    "regional"):
            if key in p["changes"] and (not isinstance(p["changes"][key], str) or not p["changes"][key].strip()):
                return f"kolonnen {key} skal være en tekst"
        if "priority" in p["changes"] and (not isinstance(p["changes"]["priority"], int)
                                           or isinstance(p["changes"]["priority"], bool)
                                           or p["changes"]["priority"] < 1):
            return "prioritet skal være et helt tal fra 1"
        return (_dates_ok(merged) or _answers_ok(state, p["changes"].get("answers"))
                or _quality_columns_ok(merged, state, catalog))
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


def duplicate_priorities(state, catalog, settings):
    by_priority: dict[int, list] = {}
    for item in state.plan():
        by_priority.setdefault(state.item_fields(item).get("priority"), []).append(item)
    for priority, items in sorted(by_priority.items(), key=lambda kv: kv[0] or 0):
        if len(items) > 1:
            yield Finding("plan-prioritet-dobbelt", "advarsel", "opfølgningsplan",
                          f"{priority}. prioritet er givet til flere planpunkter ({', '.join(i.item for i in items)}); "
                          f"prioritér dem", tuple(i.seq for i in items))


def past_end_without_result(state, catalog, settings):
    today = settings["today"]
    for item in state.plan():
        slut = state.item_fields(item).get("slut")
        if slut and slut != ev.VARIG_ORDNING and slut < today and item.result is None:
            yield Finding("plan-uden-resultat", "advarsel", f"planpunkt {item.item}",
                          f"planpunktet sluttede {slut}, men der er ikke registreret et resultat (RESULTAT)",
                          (item.seq,))


def tema_of_older_model(state, catalog, settings):
    """Say which 2025 theme a row's older-model TEMA maps to (so trends can be followed across versions)."""
    for item in state.plan():
        fields = state.item_fields(item)
        std, tid, title, maps, error = resolve_tema(fields["tema"], fields.get("tema_standard"), state, catalog)
        if error or std is None or std.kind != "modelkort":
            continue
        target = _target_model(std, catalog)
        new = target.theme(maps)
        yield Finding("plan-tema-aeldre-model", "info", f"planpunkt {item.item}",
                      f"TEMA «{title}» (tema {tid} i {std.title}) svarer til tema {new.id} «{new.title}» i "
                      f"{target.id}", (item.seq,))


FINDINGS = [
    FindingRule("plan-prioritet-dobbelt", "To planpunkter har samme prioritet.", duplicate_priorities),
    FindingRule("plan-uden-resultat", "Et planpunkt er over sin sluttid uden et resultat.", past_end_without_result),
    FindingRule("plan-tema-aeldre-model", "Et planpunkts tema fra en ældre model, og hvilket 2025-tema det svarer til.",
                tema_of_older_model),
    FindingRule("plan-ikke-godkendt", "Opfølgningsplanen er ikke godkendt af en tilbudsleder i sin nuværende form.",
                plan_not_approved),
]
