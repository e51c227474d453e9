"""Timestamps as RFC 3339 UTC strings with a fixed width.

Fixed width (microseconds, ``Z``) makes the strings sort like the instants they name, so the store can
compare ``recorded_at`` as text and a verifier in any language can parse them with one pattern.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone, tzinfo

_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def format_time(moment: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    # isoformat (not strftime): faster on every append, and it pads a year below 1000 to four digits.
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


def now() -> str:
    """The current time in the canonical form."""
    return format_time(datetime.now(timezone.utc))


def is_canonical(text: str) -> bool:
    """True if ``text`` is a timestamp in exactly the canonical form (and a real instant)."""
    if not isinstance(text, str) or len(text) != 27 or not _PATTERN.match(text):
        return False
    try:  # the constructor checks day-of-month, leap years and ranges; strptime is 20x slower
        datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                 int(text[17:19]))
    except ValueError:
        return False
    return True


def parse_time(text: str) -> datetime:
    """Parse a canonical timestamp back into an aware UTC datetime."""
    if not is_canonical(text):
        raise ValueError(f"not a canonical RFC 3339 UTC timestamp: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def normalise_user_time(text: str, zone: tzinfo = timezone.utc) -> str:
    """Accept what a person types (a date, or RFC 3339 with any offset) and return the canonical form.

    A bare date means midnight of that day in ``zone`` (the caller's people's time zone; the kernel
    knows none of its own); a time without a zone is refused rather than guessed.
    """
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            d = date.fromisoformat(text)
            return format_time(datetime(d.year, d.month, d.day, tzinfo=zone))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date or RFC 3339 timestamp: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone; add Z or an offset such as +01:00")
    return format_time(moment)
