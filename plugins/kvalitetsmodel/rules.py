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
from tilsyn.standards.model import METHODS, SOURCES
from tilsyn.standards.rules import Finding, FindingRule, GuardRule
from tilsyn.standards.summary import (element_applies, marker_applies, quality_model_of,
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
}

_MODEL_TYPES = (ev.OBSERVATION, ev.MARKER_ASSESSED, ev.CRITERION_ASSESSED, ev.RISK)


def _model(stmt, catalog):
    try:
        model = catalog.get(stmt.payload["standard"], stmt.payload["standard_version"])
    except KeyError as e:
        return None, f"ukendt standard: {e.args[0]}"
    if model.kind != "kvalitetsmodel":
        return None, f"{model.id} er ikke en kvalitetsmodel"
    return model, None


def ids_known(stmt, state, catalog):
    model, error = _model(stmt, catalog)
    if error:
        return error
    p = stmt.payload
    try:
        if "marker" in p:
            marker = model.marker(p["marker"])
            if p.get("element"):
                marker.element(p["element"])
        if p.get("criterion"):
            model.criterion(p["criterion"])
    except KeyError as e:
        return f"ukendt id: {e.args[0]}"
    if stmt.type == ev.OBSERVATION:
        if p["source"] not in SOURCES:
            return f"ukendt kilde {p['source']!r}; kilder: {', '.join(SOURCES)}"
        if p["method"] not in METHODS:
            return f"ukendt metode {p['method']!r}; metoder: {', '.join(METHODS)}"
    return None


def not_applicable_only_where_it_does_not_apply(stmt, state, catalog):
    if stmt.payload["verdict"] != "ikke aktuel":
        return None
    model, error = _model(stmt, catalog)
    if error:
        return None  # ids_known reports it
    marker = model.marker(stmt.payload["marker"])
    if marker_applies(marker, state):
        return (f"markør {marker.id} gælder for et {state.tilbud_type}"
                + (" med bestyrelse" if state.has_board else "") + " og kan ikke vurderes ikke aktuel")
    return None


def fulfilled_needs_no_absent_marker(stmt, state, catalog):
    if stmt.payload["verdict"] != "opfyldt":
        return None
    model, error = _model(stmt, catalog)
    if error:
        return None
    criterion = model.criterion(stmt.payload["criterion"])
    absent = [m.id for m in criterion.markers
              if (v := state.marker_verdict(m.id)) is not None and v.verdict == "ikke til stede"]
    if absent:
        return (f"kriterium {criterion.id} kan ikke være opfyldt, når markør {', '.join(absent)} "
                f"er vurderet ikke til stede")
    return None


def justification_required(stmt, state, catalog):
    reason = stmt.payload.get("reason", "").strip()
    if len(reason) < SETTINGS["kvalitetsmodel.begrundelse_min_tegn_altid"]:
        what = "kriteriet" if stmt.type == ev.CRITERION_ASSESSED else "vurderingen"
        return f"{what} kræver en faglig begrundelse (mindst {SETTINGS['kvalitetsmodel.begrundelse_min_tegn_altid']} tegn)"
    return None


GUARDS = [
    GuardRule("kendte-id", "Standard, markør, kriterium, designelement, kilde og metode skal findes.",
              ids_known, _MODEL_TYPES),
    GuardRule("ikke-aktuel", "Ikke aktuel kun for en markør, der ikke gælder for tilbudstypen.",
              not_applicable_only_where_it_does_not_apply, (ev.MARKER_ASSESSED,),
              references=("kvalitetsmodel-2025#3.1.2",)),
    GuardRule("opfyldt-uden-fravaerende-markoer", "Et kriterium kan ikke være opfyldt, når en af dets markører er "
              "ikke til stede.", fulfilled_needs_no_absent_marker, (ev.CRITERION_ASSESSED,)),
    GuardRule("faglig-begrundelse", "En vurdering kræver en faglig begrundelse.", justification_required,
              (ev.MARKER_ASSESSED, ev.CRITERION_ASSESSED, ev.RISK)),
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
        observations = state.live_observations(marker.id)
        covered = set()
        for el in marker.design:
            options = {(o.method, o.source) for o in el.options}
            if any((o.method, o.source) in options and o.element in (None, el.id) for o in observations):
                covered.add(el.id)
        for group in marker.alternatives:
            if covered & set(group):
                covered |= set(group)
        for el in marker.design:
            if el.id in covered or not element_applies(el, state):
                continue
            ways = " eller ".join(f"{o.method} af {o.source}" for o in el.options)
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
