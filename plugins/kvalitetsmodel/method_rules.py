"""Findings on the method around the markers (seed 002): verdicts that no longer hold, fornøden kvalitet
without a decision, what a begrundelse must name, risk colours that mean something, and the
borgerperspektiv.

Findings advise; they never refuse. Each names the seqs it rests on.
"""

from __future__ import annotations

import re

from tilsyn.standards import danish
from tilsyn.standards.model import RECEIVED_SOURCES
from tilsyn.standards.rules import Finding, FindingRule
from tilsyn.standards.summary import criterion_standing, fornoeden_kvalitet, marker_applies, quality_model_of

# Words by which a begrundelse names a source or a method (stems, lower case): "borgere", "medarbejderne" …
SOURCE_WORDS = {
    "borger": ("borger",), "medarbejder": ("medarbejder", "personale"), "ledelse": ("ledelse", "leder"),
    "bestyrelse": ("bestyrelse",), "pårørende": ("pårørende",), "værge": ("værge",),
    "handlekommune": ("kommune",), "anden professionel": ("professionel",), "dagtilbud": ("dagtilbud",),
    "skole": ("skole",), "beskæftigelsestilbud": ("beskæftigelse",), "tilbudsportalen": ("tilbudsportal", "tp"),
    "dokumenter": ("dokument", "indberetning", "referat", "plan", "oversigt"),
    "fysiske rammer": ("fysiske rammer", "rammer"), "kvalitetsmodellen": ("tema", "kvalitetsmodel"),
    "whistleblowerordningen": ("whistleblower",), "underretning": ("underretning",),
    "anden myndighed": ("myndighed",),
}
METHOD_WORDS = {
    "interview": ("interview",), "observation": ("observ",), "dokumentanalyse": ("dokumentanalyse", "gennemgang"),
    "trianguleringsinterview": ("triangul",),
}
_VERDICT_PATTERNS = {
    "til stede": re.compile(r"(?<!ikke )\btil ?stede\b"),
    "ikke til stede": re.compile(r"\bikke til ?stede\b"),
    "ikke aktuel": re.compile(r"\bikke aktuel"),
}


def _readable(settings, fact, field):
    readable = settings.get("readable")
    return readable(fact, field) if readable else getattr(fact, field)


def stale_criteria(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for criterion in model.criteria():
        st = criterion_standing(criterion, state)
        if st["stale"]:
            marker_seqs = [v.seq for m in criterion.markers if (v := state.marker_verdict(m.id)) is not None]
            yield Finding("kriterium-forældet", "alvorlig", f"kriterium {criterion.id}",
                          f"{st['stale_reason']}; det tæller ikke som opfyldt", (st["decided"].seq, *marker_seqs))


def no_decision_follows(state, catalog, settings):
    """Seed 002: «Er der ikke den fornødne kvalitet i tilbuddet, skal socialtilsynet træffe afgørelse»."""
    model = quality_model_of(state, catalog)
    fk = fornoeden_kvalitet(state, model)
    if fk["value"] is not False:
        return
    decisions = state.live_decisions()
    # A varsel naming the criterion means the decision is under way (partshøring first, forvaltningsloven § 19).
    varsler = [v for v in getattr(state, "varsler", []) if state.live(v.seq)]
    unanswered, seqs = [], []
    for cid in fk["held_back_by"]:
        verdict = state.criterion_verdict(cid)
        if not any(cid in d.criteria and (d.status == "åben" or d.seq > verdict.seq) for d in decisions) \
                and not any(cid in getattr(v, "criteria", []) and v.seq > verdict.seq for v in varsler):
            unanswered.append(f"kriterium {cid}")
            seqs.append(verdict.seq)
    oek = state.oekonomi_verdict()
    if oek is not None and oek.verdict == "ikke opfyldt":
        if not any(d.status == "åben" or d.seq > oek.seq for d in decisions):
            unanswered.append("temaet økonomi")
            seqs.append(oek.seq)
    if unanswered:
        yield Finding("ikke-fornoeden-kvalitet-uden-afgoerelse", "alvorlig", "fornøden kvalitet",
                      f"ikke fornøden kvalitet uden afgørelse: {', '.join(unanswered)} er ikke opfyldt, og ingen "
                      f"afgørelse følger af det", tuple(seqs))


def _mentions(text: str, marker) -> list[int]:
    """Where a begrundelse names a marker: by its id (2.3.1) or by its title."""
    low = text.lower()
    spots = [m.start() for m in re.finditer(rf"(?<![\d.]){re.escape(marker.id)}(?![\d])", low)]
    title = marker.title.lower()
    at = low.find(title)
    if at >= 0:
        spots.append(at)
    return sorted(spots)


def justification_names_markers(state, catalog, settings):
    """Seed 002: the begrundelse names each marker with its verdict; at gul and rød, the sources and methods."""
    model = quality_model_of(state, catalog)
    if model is None:
        return
    tilbud_risk = state.risk("")
    for criterion in model.criteria():
        decided = state.criterion_verdict(criterion.id)
        if decided is None:
            continue
        text = _readable(settings, decided, "reason")
        if text is None:
            continue  # erased personal data: nothing to read
        low = text.lower()
        spots = {m.id: _mentions(low, m) for m in criterion.markers}
        starts = sorted(p for ps in spots.values() for p in ps)
        problems = []
        for marker in criterion.markers:
            verdict = state.marker_verdict(marker.id)
            shown = verdict.verdict if verdict is not None else (None if marker_applies(marker, state) else "ikke aktuel")
            if not spots[marker.id]:
                problems.append(f"markør {marker.id} nævnes ikke" + (f" ({shown})" if shown else ""))
                continue
            if shown is None:
                continue
            # The verdict must stand in the stretch of text about this marker (up to the next marker named).
            found = False
            for p in spots[marker.id]:
                end = min([q for q in starts if q > p] + [len(low)])
                if _VERDICT_PATTERNS[shown].search(low[p:end]):
                    found = True
            if not found:
                problems.append(f"markør {marker.id} nævnes uden sin vurdering «{shown}»")
        risk = state.risk(criterion.id)
        colour = risk.verdict if risk is not None else ("rød" if decided.verdict == "ikke opfyldt" else
                                                        tilbud_risk.verdict if tilbud_risk is not None else "grøn")
        obs = [o for m in criterion.markers for o in state.live_observations(m.id) if o.seq < decided.seq]
        if colour in ("gul", "rød") and obs:
            sources = sorted({o.source for o in obs if not any(w in low for w in SOURCE_WORDS.get(o.source, (o.source.lower(),)))})
            methods = sorted({o.method for o in obs if not any(w in low for w in METHOD_WORDS.get(o.method, (o.method,)))})
            if sources:
                problems.append(f"ved {colour} skal kilderne beskrives (mangler: {', '.join(sources)})")
            if methods:
                problems.append(f"ved {colour} skal metoderne beskrives (mangler: {', '.join(methods)})")
        if problems:
            yield Finding("begrundelse-navngiver", "advarsel", f"kriterium {criterion.id}",
                          "begrundelsen: " + "; ".join(problems),
                          (decided.seq, *((risk.seq,) if risk is not None else ())))


def _risks_in_force(state, model):
    """(scope, risk) for the tilbud and every criterion with a current colour."""
    out = []
    if (r := state.risk("")) is not None:
        out.append(("", r))
    for c in model.criteria():
        if (r := state.risk(c.id)) is not None:
            out.append((c.id, r))
    return out


def risk_colours_mean_something(state, catalog, settings):
    model = quality_model_of(state, catalog)
    if model is None:
        return
    failing = {c.id: v for c in model.criteria()
               if (v := state.criterion_verdict(c.id)) is not None and v.verdict == "ikke opfyldt"}
    for scope, risk in _risks_in_force(state, model):
        subject = f"kriterium {scope}" if scope else "tilbuddet"
        if risk.verdict == "grøn":
            hit = [c for c in failing if not scope or c == scope]
            if hit:
                yield Finding("groen-med-ikke-opfyldt", "alvorlig", subject,
                              f"risikokategori grøn, men kriterium {', '.join(hit)} er ikke opfyldt",
                              (risk.seq, *(failing[c].seq for c in hit)))
        if risk.verdict != "gul":
            continue
        widenings = [w for w in state.live_widenings() if w.criterion == scope and w.seq > risk.seq]
        if not widenings:
            yield Finding("gul-uden-udvidelse", "advarsel", subject,
                          "risikokategori gul, men hverken tvivlen eller det udvidede undersøgelsesdesign er registreret "
                          "(tilsyn risk … gul --doubt … --widen …)", (risk.seq,))
        for w in widenings:
            later = [o for o in state.live_observations() if o.seq > w.seq]
            for eid in w.elements:
                mid = eid.rsplit(".", 1)[0]
                try:
                    el = model.marker(mid).element(eid)
                except KeyError:
                    continue
                if not any(o.marker == mid and o.element in (None, eid) and el.covers(o.method, o.source) for o in later):
                    yield Finding("udvidet-design-ikke-daekket", "advarsel", f"designelement {eid}",
                                  f"undersøgelsesdesignet er udvidet med {eid} «{el.heading}» (seq {w.seq}), men "
                                  f"ingen observation dækker det endnu", (w.seq,))
            for way in w.ways:
                if not any(o.marker == way.marker and o.method == way.method and o.source == way.source for o in later):
                    yield Finding("udvidet-design-ikke-daekket", "advarsel", f"markør {way.marker}",
                                  f"undersøgelsesdesignet er udvidet med {danish.way(way.method, way.source)} (seq {w.seq}), "
                                  f"men ingen observation dækker det endnu", (w.seq,))


def beyond_design_while_green(state, catalog, settings):
    """Seed 002: «Socialtilsynet skal altså ikke undersøge mere eller andet end det angivne» while grøn."""
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for o in state.live_observations():
        if o.source in RECEIVED_SOURCES:
            continue  # information the tilsyn receives is not an investigation of its own
        try:
            marker = model.marker(o.marker)
            criterion = model.criterion_of_marker(o.marker)
        except KeyError:
            continue
        risk = state.risk_at(o.seq, criterion.id) or state.risk_at(o.seq, "")
        if risk is None or risk.verdict != "grøn":
            continue
        elements = [marker.element(o.element)] if o.element else list(marker.design)
        if any(el.covers(o.method, o.source) for el in elements):
            continue
        yield Finding("ud-over-design-ved-groen", "info", f"markør {o.marker}",
                      f"observation ({danish.way(o.method, o.source)}) ligger uden for undersøgelsesdesignet, mens "
                      f"risikokategorien var grøn (seq {risk.seq}); ved grøn undersøges ikke mere eller andet end "
                      f"det angivne", (o.seq, risk.seq))


def not_applicable_by_judgement(state, catalog, settings):
    """Seed 002: ikke aktuel «hvor kvalitetsmarkøren angiver forhold, der ikke er relevant jf. tilbudstype»."""
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for marker in model.markers():
        verdict = state.marker_verdict(marker.id)
        if verdict is not None and verdict.verdict == "ikke aktuel" and marker_applies(marker, state):
            yield Finding("ikke-aktuel-skoen", "info", f"markør {marker.id}",
                          f"vurderet ikke aktuel efter tilsynets skøn for et {state.tilbud_type}, selv om modellen "
                          f"ikke undtager det; til faglig gennemgang", (verdict.seq,))


def borgerperspektiv_reason(state, catalog, settings):
    """Seed 002: observation or trianguleringsinterview replaces the borgerinterview only for a stated reason."""
    model = quality_model_of(state, catalog)
    if model is None:
        return
    for o in state.live_observations():
        if o.instead_of_interview or (o.method == "interview" and o.source == "borger"):
            continue
        if o.method not in ("observation", "trianguleringsinterview"):
            continue
        try:
            marker = model.marker(o.marker)
        except KeyError:
            continue
        elements = [marker.element(o.element)] if o.element else list(marker.design)
        for el in elements:
            if el.heading.startswith("Borgerperspektivet") and el.covers(o.method, o.source) \
                    and any(x.method == "interview" and x.source == "borger" for x in el.options):
                yield Finding("borgerperspektiv-uden-grund", "advarsel", f"markør {o.marker}",
                              f"borgerperspektivet ({el.id}) er belyst ved {danish.way(o.method, o.source)} i stedet for "
                              f"interview af borgerne, uden at det er registreret hvorfor (uanmeldt, borgerne ønsker "
                              f"ikke / er ikke i stand til interview)", (o.seq,))
                break


FINDINGS = [
    FindingRule("kriterium-forældet", "Et kriterium står som opfyldt, men hviler ikke længere på vurderede markører.",
                stale_criteria),
    FindingRule("ikke-fornoeden-kvalitet-uden-afgoerelse", "Ikke fornøden kvalitet, uden at en afgørelse følger.",
                no_decision_follows),
    FindingRule("begrundelse-navngiver", "Begrundelsen nævner hver markør med sin vurdering og, ved gul og rød, "
                "kilder og metoder (seed 002).", justification_names_markers),
    FindingRule("risikokategori", "Grøn med et kriterium ikke opfyldt; gul uden registreret tvivl og udvidelse; "
                "udvidet design ikke dækket.", risk_colours_mean_something),
    FindingRule("ud-over-design-ved-groen", "Undersøgt mere eller andet end designet, mens risikokategorien var grøn.",
                beyond_design_while_green),
    FindingRule("ikke-aktuel-skoen", "Ikke aktuel efter tilsynets skøn: til faglig gennemgang.",
                not_applicable_by_judgement),
    FindingRule("borgerperspektiv-uden-grund", "Borgerinterviewet er erstattet uden registreret grund.",
                borgerperspektiv_reason),
]
