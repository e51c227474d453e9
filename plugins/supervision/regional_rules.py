"""Guards and findings for regional quality standards (*trin 1–4* with numbered *indikatorer*).

They work for any standard of kind ``regional`` in the catalog, so a region's own plugin adds a
standard and gets these rules for free.
"""

from __future__ import annotations

from datetime import date

from tilsyn.standards import events as ev
from tilsyn.standards.rules import Finding, FindingRule, GuardRule
from tilsyn.standards.summary import regional_standards_of


def _regional(stmt, catalog):
    p = stmt.payload
    try:
        std = catalog.get(p["standard"], p["standard_version"])
    except KeyError as e:
        return None, f"ukendt standard: {e.args[0]}"
    if std.kind != "regional":
        return None, f"{std.id} er ikke en regional kvalitetsstandard"
    return std, None


def indikator_known(stmt, state, catalog):
    std, error = _regional(stmt, catalog)
    if error:
        return error
    try:
        std.indikator(stmt.payload["indikator"])
    except KeyError:
        numbers = ", ".join(str(i.number) for i in std.indikatorer())
        return f"{std.id} har ingen indikator {stmt.payload['indikator']} (har {numbers})"
    return None


def monitoring_valid(stmt, state, catalog):
    std, error = _regional(stmt, catalog)
    if error:
        return error
    if not any(t.cadence_years for t in std.trin):
        return f"{std.id} har intet trin med intern kvalitetsovervågning"
    if stmt.payload["date"] > stmt.occurred_at[:10]:
        return f"overvågningsdatoen {stmt.payload['date']} ligger efter registreringen"
    try:
        date.fromisoformat(stmt.payload["date"])
    except ValueError:
        return f"ugyldig dato {stmt.payload['date']!r}"
    return None


GUARDS = [
    GuardRule("regional-indikator-kendt", "Kontrol af en indikator kræver en kendt regional standard og indikator.",
              indikator_known, (ev.INDIKATOR_CHECKED,)),
    GuardRule("regional-overvaagning-gyldig", "Intern kvalitetsovervågning registreres for en regional standard "
              "med et overvågningstrin og en dato, der ikke ligger i fremtiden.", monitoring_valid,
              (ev.MONITORING_COMPLETED,)),
]


def monitoring_due(state, catalog, settings):
    today = date.fromisoformat(settings["today"])
    for std in regional_standards_of(state, catalog):
        for trin in std.trin:
            if not trin.cadence_years:
                continue
            last = state.last_monitoring(std.id)
            subject = f"{std.id} trin {trin.number}"
            if last is None:
                yield Finding("regional-overvaagning", "advarsel", subject,
                              f"ingen intern kvalitetsovervågning registreret (skal ske mindst hvert "
                              f"{trin.cadence_years}. år)")
                continue
            done = date.fromisoformat(last.date)
            try:
                due = done.replace(year=done.year + trin.cadence_years)
            except ValueError:  # 29 February
                due = done.replace(year=done.year + trin.cadence_years, day=28)
            if due < today:
                yield Finding("regional-overvaagning", "advarsel", subject,
                              f"seneste interne kvalitetsovervågning {last.date} er ældre end "
                              f"{trin.cadence_years} år (forfaldt {due.isoformat()})", (last.seq,))


def improvement_after_shortfall(state, catalog, settings):
    for std in regional_standards_of(state, catalog):
        monitored = [t for t in std.trin if t.cadence_years]
        improving = [t for t in std.trin if t.number == max(x.number for x in std.trin) and not t.cadence_years]
        if not monitored or not improving:
            continue
        shortfalls = [c for t in monitored for i in t.indikatorer
                      if (c := state.indikator_status(std.id, i.number)) is not None and c.verdict == "ikke opfyldt"]
        if not shortfalls:
            continue
        first = min(s.seq for s in shortfalls)
        plans = [c for i in improving[0].indikatorer
                 if (c := state.indikator_status(std.id, i.number)) is not None
                 and c.verdict == "opfyldt" and c.seq > first]
        if not plans:
            numbers = ", ".join(str(s.indikator) for s in shortfalls)
            yield Finding("regional-forbedring", "advarsel", f"{std.id} trin {improving[0].number}",
                          f"indikator {numbers} (trin {monitored[0].number}) er ikke opfyldt, men der er ingen "
                          f"skriftlig plan for kvalitetsforbedring (trin {improving[0].number}) registreret efter",
                          tuple(s.seq for s in shortfalls))


FINDINGS = [
    FindingRule("regional-overvaagning", "Intern kvalitetsovervågning (trin 3) mangler eller er for gammel.",
                monitoring_due),
    FindingRule("regional-forbedring", "Efter en mangel i trin 3 skal trin 4 have en skriftlig plan.",
                improvement_after_shortfall),
]
