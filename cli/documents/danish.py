"""Danish dates and times for documents: "1. december 2026", "15. september 2026 kl. 11.00 (CEST)".

The ledger stores RFC 3339 UTC; a Danish reader reads Europe/Copenhagen with the zone named (CET in
winter, CEST in summer, as everywhere in the CLI). A value that was given as a date is a date: the
ledger stores it as midnight UTC, and showing it as "kl. 01.00" would invent a time nobody gave.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from ..timeview import danish_time

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")


def _parse(value: str) -> datetime | date | None:
    text = value.strip()
    if len(text) == 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def is_date_only(value: str | None) -> bool:
    """A date, or a time the ledger made from a date (exactly midnight UTC)."""
    parsed = _parse(value) if value else None
    if isinstance(parsed, datetime):
        utc = parsed.astimezone(timezone.utc)
        return (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0)
    return isinstance(parsed, date)


def dato(value: str | date | None, empty: str = "–") -> str:
    """A date in Danish long form: '1. december 2026'. A time is shown as its Danish local date."""
    if not value:
        return empty
    parsed = value if isinstance(value, date) else _parse(value)
    if parsed is None:
        return str(value)
    if isinstance(parsed, datetime):
        parsed = parsed.date() if is_date_only(value) else parsed.astimezone(COPENHAGEN).date()
    return f"{parsed.day}. {MONTHS[parsed.month - 1]} {parsed.year}"


def tid(value: str | None, empty: str = "–") -> str:
    """A time as Danish local time with the zone named: '15. september 2026 kl. 11.00 (CEST)' — the
    form the CLI uses too (``tilsyn.cli.timeview.danish_time``);
    a date-only value as its date alone."""
    if not value:
        return empty
    parsed = _parse(value)
    if parsed is None:
        return str(value)
    if not isinstance(parsed, datetime) or is_date_only(value):
        return dato(value)
    return danish_time(parsed)  # one form for the whole CLI


def kort_dato(value: str | None, empty: str = "–") -> str:
    """A date in the short Danish form '01.12.2026' for narrow table cells."""
    if not value:
        return empty
    parsed = _parse(value)
    if parsed is None:
        return str(value)
    if isinstance(parsed, datetime):
        parsed = parsed.date() if is_date_only(value) else parsed.astimezone(COPENHAGEN).date()
    return f"{parsed.day:02d}.{parsed.month:02d}.{parsed.year}"
