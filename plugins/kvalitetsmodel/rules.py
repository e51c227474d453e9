"""Rules from the quality model (seed 002) and the audit of assessment practice (seed 004).

Guards: ids must exist in the standard version named; *ikke aktuel* only where a marker does not
apply; a criterion cannot be *opfyldt* while one of its markers is *ikke til stede*; a criterion
verdict needs a *faglig begrundelse*. Findings: the investigation design of an assessed marker is not
covered; an *ikke til stede* or *rød* verdict rests on fewer than two sources or methods
(triangulation); a justification is too thin for its risk colour; the verdict suggested by the
markers differs from the decided one.
"""

from __future__ import annotations

from tilsyn.standards import events as ev
from tilsyn.standards.danish import way
from tilsyn.standards.model import METHODS, SOURCES
from tilsyn.standards.rules import Finding, FindingRule, GuardRule
from tilsyn.ledger.personal import is_sealed
from tilsyn.standards.summary import (criterion_standing, element_applies, marker_applies, quality_model_of,
                                      suggested_criterion_verdict)

SETTINGS = {
    # Minimum length (characters) of a faglig begrundelse per risk colour: seed 002 asks for a short
    # description when grøn, a fuller one when gul, a thorough one when rød.
    "kvalitetsmodel.begrundelse_min_tegn.grøn": 40,
    "kvalitetsmodel.begrundelse_min_tegn.gul": 150,
    "kvalitetsmodel.begrundelse_min_tegn.rød": 300,
    "kvalitetsmodel.triangulering_min_kilder": 2,
    "kvalitetsmodel.triangulering_min_metoder": 2,
    "kvalitetsmodel.begrundelse_min_tegn_altid": 10,
    # A marker turning ikke til stede while its criterion stands opfyldt (seed 002, rule 3): "afvis" refuses
    # it; "forældet" records it and the criterion's opfyldt goes stale (a serious finding) until reassessed.
    "kvalitetsmodel.ikke_til_stede_under_opfyldt": "afvis",
}
STALE_MODES = ("afvis", "forældet")

_MODEL_TYPES = (ev.OBSERVATION, ev.MARKER_ASSESSED, ev.CRITERION_ASSESSED, ev.RISK, ev.DESIGN_WIDENED)


def _model(stmt, catalog):
    try:
        model = catalog.get(stmt.payload["standard"], stmt.payload["standard_version"])
    except KeyError as e:
        return None, f"ukendt standard: {e.args[0]}"
    if model.kind != "kvalitetsmodel":
        return None, f"{model.id} er ikke en kvalitetsmodel"
    return model, None


def _source_ok(marker, element, method, source):
    """A source is known, or named where the seed's list is only examples ("fx"): recorded as given."""
    if source in SOURCES:
        return True
    elements = [element] if element is not None else list(marker.design)
    return any(method in el.open_sources for el in elements)


def ids_known(stmt, state, catalog):
    model, error = _model(stmt, catalog)
    if error:
        return error
    p = stmt.payload
    element = None
    try:
        if "marker" in p:
            marker = model.marker(p["marker"])
            if p.get("element"):
                element = marker.element(p["element"])
        if p.get("criterion"):
            model.criterion(p["criterion"])
        if stmt.type == ev.DESIGN_WIDENED:
            for eid in p.get("elements", []):
                model.marker(eid.rsplit(".", 1)[0]).element(eid)
            for way in p.get("ways", []):
                model.marker(way["marker"])
    except KeyError as e:
        return f"ukendt id: {e.args[0]}"
    if stmt.type == ev.OBSERVATION:
        if p["method"] not in METHODS:
            return f"ukendt metode {p['method']!r}; metoder: {', '.join(METHODS)}"
        if p["source"] != p["source"].strip() or not p["source"].strip():
            return "kilden skal være navngivet"
        if not _source_ok(marker, element, p["method"], p["source"]):
            return (f"ukendt kilde {p['source']!r}; kilder: {', '.join(SOURCES)} (andre relevante kilder kun ved "
                    f"trianguleringsinterview, hvor undersøgelsesdesignet nævner kilderne med «fx»)")
    if stmt.type == ev.DESIGN_WIDENED:
        if not p.get("elements") and not p.get("ways"):
            return "en udvidelse af undersøgelsesdesignet skal nævne mindst ét designelement eller én metode og kilde"
        for way in p.get("ways", []):
            if way["method"] not in METHODS:
                return f"ukendt metode {way['method']!r}; metoder: {', '.join(METHODS)}"
    return None


def marker_applicability(stmt, state, catalog):
    """Seed 002, rule 1: *ikke aktuel* only where the marker does not apply to the kind of tilbud.

    Where the model itself says so (a board marker without a board, a tilbud type it excludes) it is
    accepted. Where the model is silent the tilsyn may still judge it, with a reason naming the tilbudstype
    (the judgement is then reported for review). A marker that cannot apply cannot be *til stede*.
    """
    model, error = _model(stmt, catalog)
    if error:
        return None  # ids_known reports it
    marker = model.marker(stmt.payload["marker"])
    verdict = stmt.payload["verdict"]
    applies = marker_applies(marker, state)
    if verdict == "til stede" and not applies:
        why = "tilbuddet har ingen bestyrelse" if "bestyrelse" in marker.requires and not state.has_board else \
            f"markøren gælder ikke for et {state.tilbud_type}"
        return f"markør {marker.id} kan ikke være til stede: {why}; vurdér den ikke aktuel"
    if verdict != "ikke aktuel" or not applies:
        return None
    reason = stmt.payload.get("reason", "")
    if is_sealed(reason) or (state.tilbud_type and state.tilbud_type.lower() in reason.lower()):
        return None
    return (f"markør {marker.id} gælder efter modellen for et {state.tilbud_type}"
            + (" med bestyrelse" if state.has_board else "")
            + f"; ikke aktuel efter tilsynets skøn kræver en begrundelse, der siger, hvorfor den ikke er relevant "
              f"for tilbudstypen ({state.tilbud_type})")


def fulfilled_rests_on_assessed_markers(stmt, state, catalog):
    """Seed 002, rule 3, before the fact: *opfyldt* needs every applicable marker assessed, none absent."""
    if stmt.payload["verdict"] != "opfyldt":
        return None
    model, error = _model(stmt, catalog)
    if error:
        return None
    criterion = model.criterion(stmt.payload["criterion"])
    standing = criterion_standing(criterion, state)
    if standing["absent"]:
        return (f"kriterium {criterion.id} kan ikke være opfyldt, når markør {', '.join(standing['absent'])} "
                f"er vurderet ikke til stede")
    if standing["missing"]:
        return (f"kriterium {criterion.id} kan først vurderes opfyldt, når markør {', '.join(standing['missing'])} "
                f"er vurderet")
    return None


def absent_marker_under_fulfilled_criterion(stmt, state, catalog, settings):
    """Seed 002, rule 3, after the fact: a marker turning *ikke til stede* under a criterion that stands opfyldt."""
    if stmt.payload["verdict"] != "ikke til stede":
        return None
    model, error = _model(stmt, catalog)
    if error:
        return None
    mode = settings.get("kvalitetsmodel.ikke_til_stede_under_opfyldt", "afvis")
    if mode == "forældet":
        return None  # recorded; the criterion's opfyldt goes stale (finding kriterium-forældet)
    criterion = model.criterion_of_marker(stmt.payload["marker"])
    decided = state.criterion_verdict(criterion.id)
    if decided is not None and decided.verdict == "opfyldt":
        return (f"kriterium {criterion.id} står som opfyldt (seq {decided.seq}); en markør ikke til stede kræver, at "
                f"kriteriet først vurderes igen (ikke opfyldt)")
    return None


def justification_required(stmt, state, catalog, settings):
    reason = (stmt.payload.get("reason") or stmt.payload.get("doubt") or "").strip()
    need = settings.get("kvalitetsmodel.begrundelse_min_tegn_altid", SETTINGS["kvalitetsmodel.begrundelse_min_tegn_altid"])
    if len(reason) < need:
        what = {ev.CRITERION_ASSESSED: "kriteriet", ev.DESIGN_WIDENED: "udvidelsen (tvivlen)"}.get(stmt.type,
                                                                                                  "vurderingen")
        return f"{what} kræver en faglig begrundelse (mindst {need} tegn)"
    return None


def borgerperspektiv_consistent(stmt, state, catalog):
    """Seed 002: an interview has a form; the borgerinterview is replaced only for one of the seed's reasons."""
    p = stmt.payload
    method = p["method"]
    if p.get("interview_form") and method not in ("interview", "trianguleringsinterview"):
        return f"interviewform «{p['interview_form']}» passer ikke til metoden {method}"
    why = p.get("instead_of_interview")
    if why is None:
        return None
    if method == "interview" and p["source"] == "borger":
        return "et interview af borgerne erstatter ikke borgerinterviewet; angiv ikke en grund til at erstatte det"
    if method not in ("observation", "trianguleringsinterview"):
        return (f"borgerinterviewet erstattes af observation eller trianguleringsinterview (seed 002), ikke af "
                f"{method}")
    if why == "tilsynsbesøget er uanmeldt" and p.get("visit"):
        visit = next((v for v in reversed(state.live_visits()) if v.visit == p["visit"]), None)
        if visit is not None and visit.kind != "uanmeldt":
            return f"besøget {visit.visit!r} er {visit.kind}, ikke uanmeldt"
    return None


def widening_while_gul(stmt, state, catalog):
    """Seed 002: the design is widened because of doubt, i.e. while the risk colour is gul."""
    criterion = stmt.payload.get("criterion") or ""
    risk = state.risk(criterion) or (state.risk("") if criterion else None)
    if risk is None or risk.verdict != "gul":
        scope = f"kriterium {criterion}" if criterion else "tilbuddet"
        return (f"undersøgelsesdesignet udvides ved tvivl: risikokategorien for {scope} skal være gul "
                f"(er {risk.verdict if risk else 'ikke sat'})")
    return None


GUARDS = [
    GuardRule("kendte-id", "Standard, markør, kriterium, designelement, kilde og metode skal findes.",
              ids_known, _MODEL_TYPES),
    GuardRule("ikke-aktuel", "Ikke aktuel kun for en markør, der ikke gælder for tilbudstypen (efter modellen eller "
              "efter tilsynets begrundede skøn); en markør, der ikke kan gælde, kan ikke være til stede.",
              marker_applicability, (ev.MARKER_ASSESSED,), references=("kvalitetsmodel-2025#3.1.2",)),
    GuardRule("opfyldt-uden-fravaerende-markoer", "Et kriterium kan kun være opfyldt, når alle dets gældende markører "
              "er vurderet, og ingen er ikke til stede.", fulfilled_rests_on_assessed_markers,
              (ev.CRITERION_ASSESSED,)),
    GuardRule("markoer-under-opfyldt", "En markør ikke til stede under et kriterium, der står som opfyldt, afvises "
              "(eller gør vurderingen forældet, efter indstillingen kvalitetsmodel.ikke_til_stede_under_opfyldt).",
              absent_marker_under_fulfilled_criterion, (ev.MARKER_ASSESSED,), with_settings=True),
    GuardRule("faglig-begrundelse", "En vurdering kræver en faglig begrundelse.", justification_required,
              (ev.MARKER_ASSESSED, ev.CRITERION_ASSESSED, ev.RISK, ev.OEKONOMI_ASSESSED, ev.DESIGN_WIDENED),
              with_settings=True),
    GuardRule("borgerperspektiv", "Et interview har en form; borgerinterviewet erstattes kun af observation eller "
              "trianguleringsinterview, af en af seed 002's grunde.", borgerperspektiv_consistent, (ev.OBSERVATION,)),
    GuardRule("udvidelse-ved-gul", "Undersøgelsesdesignet udvides ved tvivl, mens risikokategorien er gul.",
              widening_while_gul, (ev.DESIGN_WIDENED,)),
]


def _assessed_markers(state, model):
    for criterion in model.criteria():
        for marker in criterion.markers:
            verdict = state.marker_verdict(marker.id)
            if verdict is not None:
                yield criterion, marker, verdict


def design_coverage(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for _criterion, marker, verdict in _assessed_markers(state, model):
        if verdict.verdict == "ikke aktuel" or not marker_applies(marker, state):
            continue
        observations = state.counting_observations(marker.id)  # not from an aborted visit (seed 002)
        covered = set()
        for el in marker.design:
            if any(el.covers(o.method, o.source) and o.element in (None, el.id) for o in observations):
                covered.add(el.id)
        for group in marker.alternatives:
            if covered & set(group):
                covered |= set(group)
        for el in marker.design:
            if el.id in covered or not element_applies(el, state):
                continue
            ways = " eller ".join(way(o.method, o.source) for o in el.options)
            yield Finding("undersoegelsesdesign", "advarsel", f"markør {marker.id}",
                          f"designelement {el.id} «{el.heading}» er ikke dækket af en observation ({ways})",
                          (verdict.seq,))


def _spread(observations):
    return {o.source for o in observations}, {o.method for o in observations}


def triangulation(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    min_sources = settings.get("kvalitetsmodel.triangulering_min_kilder", 2)
    min_methods = settings.get("kvalitetsmodel.triangulering_min_metoder", 2)
    for _criterion, marker, verdict in _assessed_markers(state, model):
        if verdict.verdict != "ikke til stede":
            continue
        obs = state.live_observations(marker.id)
        sources, methods = _spread(obs)
        if len(sources) < min_sources or len(methods) < min_methods:
            yield Finding("triangulering", "advarsel", f"markør {marker.id}",
                          f"vurderet ikke til stede på {len(sources)} kilde(r) og {len(methods)} metode(r); "
                          f"triangulér med mindst {min_sources} kilder og {min_methods} metoder",
                          (verdict.seq, *(o.seq for o in obs)))
    for risk in [r for r in (state.risk(""), *(state.risk(c.id) for c in model.criteria())) if r is not None]:
        if risk.verdict != "rød":
            continue
        criteria = [model.criterion(risk.subject)] if risk.subject else [
            c for c in model.criteria() if (v := state.criterion_verdict(c.id)) and v.verdict == "ikke opfyldt"]
        obs = [o for c in criteria for m in c.markers for o in state.live_observations(m.id)]
        sources, methods = _spread(obs)
        if len(sources) < min_sources or len(methods) < min_methods:
            subject = f"kriterium {risk.subject}" if risk.subject else "tilbuddet"
            yield Finding("triangulering", "advarsel", subject,
                          f"risikokategori rød hviler på {len(sources)} kilde(r) og {len(methods)} metode(r)",
                          (risk.seq, *(o.seq for o in obs)))


def justification_depth(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    tilbud_risk = state.risk("")
    for criterion in model.criteria():
        verdict = state.criterion_verdict(criterion.id)
        if verdict is None:
            continue
        risk = state.risk(criterion.id)
        if risk is not None:
            colour = risk.verdict
        elif verdict.verdict == "ikke opfyldt":
            colour = "rød"
        elif tilbud_risk is not None and tilbud_risk.verdict == "gul":
            colour = "gul"
        else:
            colour = "grøn"
        need = settings.get(f"kvalitetsmodel.begrundelse_min_tegn.{colour}", 0)
        readable = settings.get("readable")
        text = readable(verdict, "reason") if readable else verdict.reason
        if text is None:
            continue  # personal data that cannot be read now (erased): nothing to measure
        if len(text.strip()) < need:
            yield Finding("begrundelse-dybde", "advarsel", f"kriterium {criterion.id}",
                          f"begrundelsen har {len(text.strip())} tegn; ved {colour} forventes mindst {need} "
                          f"({'kort' if colour == 'grøn' else 'mere udførlig' if colour == 'gul' else 'grundig og udførlig'})",
                          (verdict.seq,) + ((risk.seq,) if risk else ()))


def suggestion_differs(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for criterion in model.criteria():
        decided = state.criterion_verdict(criterion.id)
        suggestion, basis = suggested_criterion_verdict(criterion, state)
        if decided is not None and suggestion is not None and decided.verdict != suggestion:
            yield Finding("forslag-afviger", "info", f"kriterium {criterion.id}",
                          f"markørerne peger på «{suggestion}», men kriteriet er vurderet «{decided.verdict}»",
                          (decided.seq, *basis))


FINDINGS = [
    FindingRule("undersoegelsesdesign", "Undersøgelsesdesignet for en vurderet markør er ikke dækket.",
                design_coverage),
    FindingRule("triangulering", "Ikke til stede eller rød hviler på for få kilder eller metoder (seed 004).",
                triangulation),
    FindingRule("begrundelse-dybde", "Begrundelsen er for tynd til risikokategorien (seed 002).",
                justification_depth),
    FindingRule("forslag-afviger", "Det beregnede forslag afviger fra den besluttede vurdering.",
                suggestion_differs),
]
