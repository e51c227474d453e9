"""Times for people: Danish local time (Europe/Copenhagen) with the zone visible.

The ledger stores instants as RFC 3339 UTC strings and keeps them so; what a person reads — a table on
the terminal, a report, a letter — shows the wall-clock time in Denmark, where the supervision
happened, and says which offset applies (CET in winter, CEST in summer), so that "09:00" entered as
``09:00+02:00`` reads back as 09:00 and nobody has to convert in their head. Machine output (``--json``)
keeps the stored UTC strings.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Copenhagen")  # the tzdata package makes this work where the OS has no zone files

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")


def to_local(value: str | datetime) -> datetime | None:
    """A stored timestamp (RFC 3339, any offset, ``Z`` included) as an aware datetime in Danish time;
    None if ``value`` is not a timestamp."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # stored times are UTC by construction
    return moment.astimezone(ZONE)


def local_time(value: str | datetime | None, *, seconds: bool = False) -> str:
    """Compact form for tables: ``2026-09-15 11:00 CEST`` (``–`` for nothing; the input itself if it
    is not a timestamp, so that nothing is hidden)."""
    if value is None or value == "":
        return "–"
    moment = to_local(value)
    if moment is None:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def danish_time(value: str | datetime | None) -> str:
    """Prose form for documents and messages: ``1. december 2026 kl. 10.00 (CET)``."""
    if value is None or value == "":
        return "–"
    moment = to_local(value)
    if moment is None:
        return str(value)
    return f"{moment.day}. {MONTHS[moment.month - 1]} {moment.year} kl. {moment:%H.%M} ({moment:%Z})"


def danish_date(value: str) -> str:
    """A calendar date (``2027-01-31``, a frist) in prose: ``31. januar 2027``. Dates have no zone."""
    try:
        d = datetime.strptime(str(value)[:10], "%Y-%m-%d")
    except ValueError:
        return str(value)
    return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"
