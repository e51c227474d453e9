"""Times for people: Danish local time (Europe/Copenhagen) with the zone visible.

The ledger stores instants as RFC 3339 UTC strings and keeps them so; what a person reads — a table on
the terminal, a report, a letter — shows the wall-clock time in Denmark, where the supervision
happened, and says which offset applies (CET in winter, CEST in summer), so that "09:00" entered as
``09:00+02:00`` reads back as 09:00 and nobody has to convert in their head. Machine output (``--json``)
keeps the stored UTC strings.
"""

from __future__ import annotations

from datetime import datetime

from tilsyn.standards.danish import MONTHS, ZONE, danish_date, danish_time, to_local  # noqa: F401 (re-exported)


def local_time(value: str | datetime | None, *, seconds: bool = False) -> str:
    """Compact form for tables: ``2026-09-15 11:00 CEST`` (``–`` for nothing; the input itself if it
    is not a timestamp, so that nothing is hidden)."""
    if value is None or value == "":
        return "–"
    moment = to_local(value)
    if moment is None:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
