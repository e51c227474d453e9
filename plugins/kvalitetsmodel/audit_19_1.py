"""Finding rules from Socialstyrelsen's learning audit 19.1 (seed 004) on «Organisation og ledelse».

The audit assessed the older model's indikator 8.a, 8.b, 8.c and 9.a; the modelkort
``kvalitetsmodel-foer-2025`` maps them to the 2025 markers 3.1.1, 3.1.1/3.2.2, 3.1.2 and 3.2.1. Its lessons,
as rules that report (never refuse):

* *Kilde- og metodetriangulering* for the leadership (8.a → 3.1.1), the board (8.c → 3.1.2) and the
  citizens' contact with competent staff (9.a → 3.2.1) — on positive verdicts too, not only on *ikke til
  stede*: «med fordel inddrage borgere, medarbejdere, pårørende og/eller en eventuel bestyrelse …».
* Supervision and sparring for both ledelse and medarbejdere (8.b → 3.1.1.c): «med særlig opmærksomhed på,
  at bedømmelse af indikatoren sker med fokus på både ledelse og medarbejdere».
* The board's composition and activity (8.c → 3.1.2): «om bestyrelsen er bredt sammensat» and «dog med
  særlig opmærksomhed på om bestyrelsen er aktiv».
"""

from __future__ import annotations

from tilsyn.standards.rules import Finding, FindingRule
from tilsyn.standards.summary import quality_model_of

MAPPING_ID = "kvalitetsmodel-foer-2025"
TRIANGULATED = {"8.a": "3.1.1", "8.c": "3.1.2", "9.a": "3.2.1"}
COMPOSITION_WORDS = ("sammensat", "sammensætning", "kompetenceoversigt", "bestyrelsesmedlemmer")
ACTIVITY_WORDS = ("aktiv", "møde", "referat", "beslutning", "drøft")


def _mapping(catalog):
    try:
        return catalog.get(MAPPING_ID)
    except KeyError:
        return None


def _text(settings, fact, field):
    readable = settings.get("readable")
    value = readable(fact, field) if readable else getattr(fact, field)
    return value or ""


def triangulation_also_when_positive(state, catalog, settings):
    model, mapping = quality_model_of(state, catalog), _mapping(catalog)
    if model is None or mapping is None or model.id != "kvalitetsmodel-2025":
        return
    min_sources = settings.get("kvalitetsmodel.triangulering_min_kilder", 2)
    min_methods = settings.get("kvalitetsmodel.triangulering_min_metoder", 2)
    for old_id, marker_id in TRIANGULATED.items():
        verdict = state.marker_verdict(marker_id)
        if verdict is None or verdict.verdict == "ikke aktuel":
            continue
        obs = state.live_observations(marker_id)
        sources, methods = {o.source for o in obs}, {o.method for o in obs}
        if len(sources) < min_sources or len(methods) < min_methods:
            ind = mapping.indikator(old_id)
            yield Finding("audit-19.1-triangulering", "advarsel", f"markør {marker_id}",
                          f"vurderet {verdict.verdict} på {len(sources)} kilde(r) og {len(methods)} metode(r); audit "
                          f"19.1 (indikator {old_id} «{ind.text}») anbefaler kilde- og metodetriangulering, også ved "
                          f"en positiv vurdering", (verdict.seq, *(o.seq for o in obs)))


def supervision_for_ledelse_and_medarbejdere(state, catalog, settings):
    model, mapping = quality_model_of(state, catalog), _mapping(catalog)
    if model is None or mapping is None or model.id != "kvalitetsmodel-2025":
        return
    verdict = state.marker_verdict("3.1.1")
    if verdict is None or verdict.verdict == "ikke aktuel":
        return
    about = [o for o in state.live_observations("3.1.1")
             if o.element == "3.1.1.c" or (o.element is None and any(
                 w in _text(settings, o, "text").lower() for w in ("supervision", "sparring")))]
    heard = {o.source for o in about}
    lacking = [s for s in ("ledelse", "medarbejder") if s not in heard]
    if lacking:
        ind = mapping.indikator("8.b")
        yield Finding("audit-19.1-supervision", "advarsel", "markør 3.1.1",
                      f"supervision og sparring (3.1.1.c) er ikke belyst hos {' og '.join(lacking)}; audit 19.1 "
                      f"(indikator 8.b «{ind.text}») anbefaler fokus på både ledelse og medarbejdere",
                      (verdict.seq, *(o.seq for o in about)))


def board_composition_and_activity(state, catalog, settings):
    model, mapping = quality_model_of(state, catalog), _mapping(catalog)
    if model is None or mapping is None or model.id != "kvalitetsmodel-2025":
        return
    verdict = state.marker_verdict("3.1.2")
    if verdict is None or verdict.verdict == "ikke aktuel":
        return
    obs = state.live_observations("3.1.2")
    text = " ".join([_text(settings, verdict, "reason"), *(_text(settings, o, "text") for o in obs)]).lower()
    lacking = []
    if not any(w in text for w in COMPOSITION_WORDS):
        lacking.append("bestyrelsens sammensætning")
    if not any(w in text for w in ACTIVITY_WORDS):
        lacking.append("om bestyrelsen er aktiv")
    if lacking:
        ind = mapping.indikator("8.c")
        yield Finding("audit-19.1-bestyrelse", "advarsel", "markør 3.1.2",
                      f"vurderingen af bestyrelsen belyser ikke {' og '.join(lacking)}; audit 19.1 (indikator 8.c "
                      f"«{ind.text}») anbefaler særlig opmærksomhed på det", (verdict.seq, *(o.seq for o in obs)))


FINDINGS = [
    FindingRule("audit-19.1-triangulering", "Ledelse, bestyrelse og kontakt til kompetente medarbejdere: kilde- og "
                "metodetriangulering også ved positive vurderinger (audit 19.1, seed 004).",
                triangulation_also_when_positive,
                references=("kvalitetsmodel-2025#3.1.1", "kvalitetsmodel-2025#3.1.2", "kvalitetsmodel-2025#3.2.1")),
    FindingRule("audit-19.1-supervision", "Supervision og sparring belyst for både ledelse og medarbejdere "
                "(audit 19.1, indikator 8.b).", supervision_for_ledelse_and_medarbejdere,
                references=("kvalitetsmodel-2025#3.1.1",)),
    FindingRule("audit-19.1-bestyrelse", "Bestyrelsens sammensætning og aktivitet (audit 19.1, indikator 8.c).",
                board_composition_and_activity, references=("kvalitetsmodel-2025#3.1.2",)),
]
