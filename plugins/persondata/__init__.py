"""Built-in plugin: retention of personal data (*persondata*).

Personal fields are sealed per data subject (see ``tilsyn.ledger.personal``). This plugin reports
subjects whose data in a tilbud's history is older than the authority's retention period, so that
someone decides whether to erase it (``tilsyn erase``). It never erases anything by itself.
"""

from __future__ import annotations

from datetime import date

from tilsyn.plugins import hookimpl
from tilsyn.standards.rules import Finding, FindingRule

__version__ = "1.0.0"

SETTINGS = {"persondata.opbevaring_aar": 5}


def _personal_facts(state):
    for o in state.live_observations():
        if o.subject:
            yield o.subject, o, "text"
    for history in (*state.markers.values(), *state.criteria.values(), state.risks):
        for a in history:
            if a.data_subject and state.live(a.seq):
                yield a.data_subject, a, "reason"


def retention_passed(state, catalog, settings):
    years = int(settings.get("persondata.opbevaring_aar", 5))
    today = date.fromisoformat(settings["today"])
    readable = settings.get("readable")
    oldest: dict[str, list] = {}
    for subject, fact, field in _personal_facts(state):
        if readable is not None and readable(fact, field) is None:
            continue  # erased (or unreadable): nothing left to retain
        oldest.setdefault(subject, []).append(fact)
    for subject, facts in sorted(oldest.items()):
        first = min(facts, key=lambda f: f.recorded_at)
        recorded = date.fromisoformat(first.recorded_at[:10])
        try:
            limit = recorded.replace(year=recorded.year + years)
        except ValueError:  # 29 February
            limit = recorded.replace(year=recorded.year + years, day=28)
        if limit < today:
            yield Finding("opbevaringsperiode", "advarsel", f"person {subject}",
                          f"personoplysninger registreret {recorded.isoformat()} har passeret opbevaringsperioden på "
                          f"{years} år; vurdér sletning (tilsyn erase {subject} --reason …)",
                          tuple(sorted(f.seq for f in facts)))


@hookimpl
def tilsyn_findings():
    """Subjects whose personal data has passed the retention period."""
    return [FindingRule("opbevaringsperiode", "Personoplysninger ældre end opbevaringsperioden.", retention_passed)]


@hookimpl
def tilsyn_settings():
    """The retention period in years; override in tilsyn.toml."""
    return [SETTINGS]
