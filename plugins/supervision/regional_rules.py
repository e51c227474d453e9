"""Guards and findings for regional quality standards (*trin 1–4* with numbered *indikatorer*).

They work for any standard of kind ``regional`` in the catalog, so a region's own plugin adds a
standard and gets these rules for free.

Monitoring cycles: the internal quality monitoring of trin 3 happens at least every ``cadence_years``; a
*cycle* is the stretch of checks dated after one monitoring up to and including the next. A monitoring
must rest on a check of every trin-3 indikator dated in its cycle, and the trin-4 rule (a written plan for
quality improvement after a shortfall) is judged on the latest cycle — the open one if it already has
trin-3 checks, else the last completed one.
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


def in_scope_and_in_force(stmt, state, catalog):
    """The standard's scope (*anvendelsesområde*, e.g. «Regionale, sociale tilbud.») and valid-from date."""
    std, error = _regional(stmt, catalog)
    if error:
        return None  # the rules above name it
    if not is_regional_tilbud(state, catalog):
        return (f"{std.id} gælder for «{std.scope}», og tilbuddet er ikke registreret som et regionalt tilbud "
                f"(tilbud add --regional {std.id})")
    day = stmt.payload["date"] if stmt.type == ev.MONITORING_COMPLETED else stmt.occurred_at[:10]
    if day < std.valid_from.isoformat():
        what = "overvågningen" if stmt.type == ev.MONITORING_COMPLETED else "kontrollen"
        return f"{what} er dateret {day}, før {std.id} gælder (gældende fra {std.valid_from.isoformat()})"
    return None


def is_regional_tilbud(state, catalog) -> bool:
    """A regional, social tilbud: its master data's *ejerform* says regional, or — where no ejerform is
    recorded — it is registered under at least one regional quality standard."""
    ejerform = (getattr(state, "master", None) or {}).get("ejerform")
    if isinstance(ejerform, str) and ejerform.strip():
        return "region" in ejerform.lower()  # the master data says who runs it
    for sid in state.regional_standards:
        try:
            if catalog.get(sid).kind == "regional":
                return True
        except KeyError:
            continue
    return False


def _cycle_checks(state, std, trin, after: str | None, until: str | None):
    """The latest check per indikator of ``trin`` dated in (after, until]."""
    out = {}
    for c in state.live_checks():
        day = c.occurred_at[:10]
        if c.standard != std.id or (after is not None and day <= after) or (until is not None and day > until):
            continue
        if any(i.number == c.indikator for i in trin.indikatorer):
            prev = out.get(c.indikator)
            if prev is None or (day, c.seq) >= (prev.occurred_at[:10], prev.seq):
                out[c.indikator] = c
    return out


def monitoring_covers_its_cycle(stmt, state, catalog):
    """A trin-3 monitoring rests on a check of each of its indikatorer dated in that cycle."""
    std, error = _regional(stmt, catalog)
    if error:
        return None
    day = stmt.payload["date"]
    earlier = [d for d in state.monitoring_dates(std.id) if d < day]
    after = earlier[-1] if earlier else None
    for trin in std.trin:
        if not trin.cadence_years:
            continue
        checked = _cycle_checks(state, std, trin, after, day)
        lacking = [str(i.number) for i in trin.indikatorer if i.number not in checked]
        if lacking:
            window = f"mellem {after} og {day}" if after else f"til og med {day}"
            return (f"den interne kvalitetsovervågning (trin {trin.number}) skal omfatte indikator "
                    f"{', '.join(str(i.number) for i in trin.indikatorer)}; indikator {', '.join(lacking)} er ikke "
                    f"kontrolleret {window}")
    return None


GUARDS = [
    GuardRule("regional-indikator-kendt", "Kontrol af en indikator kræver en kendt regional standard og indikator.",
              indikator_known, (ev.INDIKATOR_CHECKED,)),
    GuardRule("regional-overvaagning-gyldig", "Intern kvalitetsovervågning registreres for en regional standard "
              "med et overvågningstrin og en dato, der ikke ligger i fremtiden.", monitoring_valid,
              (ev.MONITORING_COMPLETED,)),
    GuardRule("regional-anvendelse", "Kontrol og overvågning kun for et tilbud under standarden (dens "
              "anvendelsesområde) og ikke dateret før standarden gælder.", in_scope_and_in_force,
              (ev.INDIKATOR_CHECKED, ev.MONITORING_COMPLETED)),
    GuardRule("regional-overvaagning-omfang", "En intern kvalitetsovervågning omfatter en kontrol af hver af "
              "trinnets indikatorer i samme cyklus.", monitoring_covers_its_cycle, (ev.MONITORING_COMPLETED,)),
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


def latest_cycle(state, std, trin) -> tuple[str | None, str | None, dict]:
    """(after, until, checks) of the latest monitoring cycle of ``trin`` that has checks."""
    dates = state.monitoring_dates(std.id)
    bounds = [(dates[-1] if dates else None, None)]  # the open cycle
    for i in range(len(dates) - 1, -1, -1):
        bounds.append((dates[i - 1] if i > 0 else None, dates[i]))
    for after, until in bounds:
        checks = _cycle_checks(state, std, trin, after, until)
        if checks:
            return after, until, checks
    return None, None, {}


def improvement_after_shortfall(state, catalog, settings):
    for std in regional_standards_of(state, catalog):
        monitored = [t for t in std.trin if t.cadence_years]
        improving = [t for t in std.trin if t.number == max(x.number for x in std.trin) and not t.cadence_years]
        if not monitored or not improving:
            continue
        shortfalls = []
        for trin in monitored:
            _after, _until, checks = latest_cycle(state, std, trin)
            shortfalls += [c for c in checks.values() if c.verdict == "ikke opfyldt"]
        if not shortfalls:
            continue
        first = min(shortfalls, key=lambda c: (c.occurred_at[:10], c.seq))
        since = first.occurred_at[:10]
        plans = [c for c in state.live_checks() if c.standard == std.id and c.verdict == "opfyldt"
                 and any(i.number == c.indikator for i in improving[0].indikatorer)
                 and c.occurred_at[:10] >= since and c.seq > first.seq]
        # The written plan of trin 4 may be a row of the opfølgningsplan that names the standard.
        rows = [i for i in state.plan() if state.item_fields(i).get("regional") == std.id and i.seq > first.seq]
        if not plans and not rows:
            numbers = ", ".join(str(s.indikator) for s in sorted(shortfalls, key=lambda c: c.indikator))
            yield Finding("regional-forbedring", "advarsel", f"{std.id} trin {improving[0].number}",
                          f"indikator {numbers} (trin {monitored[0].number}) er ikke opfyldt i seneste "
                          f"overvågningscyklus, men der er ingen skriftlig plan for kvalitetsforbedring "
                          f"(trin {improving[0].number}) registreret efter",
                          tuple(s.seq for s in shortfalls))


FINDINGS = [
    FindingRule("regional-overvaagning", "Intern kvalitetsovervågning (trin 3) mangler eller er for gammel.",
                monitoring_due),
    FindingRule("regional-forbedring", "Efter en mangel i trin 3 (seneste cyklus) skal trin 4 have en skriftlig plan.",
                improvement_after_shortfall),
]
