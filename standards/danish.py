"""Small pieces of Danish that the domain's messages share, so a tilsyn can sign what is written.

* :func:`way` — a method and a source: «interview af medarbejdere» but «trianguleringsinterview med
  pårørende» (one triangulates *with* another source).
* :func:`with_article` — a decision kind with its indefinite article: «et påbud», «en godkendelse med vilkår».
* :func:`count_of` — «1 af 1 indikator», «3 af 4 indikatorer»; :func:`number_of` — «1 kvittering», «2 kvitteringer».
* Times for people: :func:`danish_time` («1. december 2026 kl. 10.00 (CET)»), :func:`danish_date`
  («31. januar 2027») and :func:`danish_day` — the calendar day in Denmark of a stored UTC instant, the
  day a frist or a høringsfrist (Danish dates) is compared with.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Copenhagen")  # the tzdata package makes this work where the OS has no zone files

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
          "november", "december")

_PREPOSITION = {"trianguleringsinterview": "med"}
_COMMON_GENDER = ("godkendelse",)  # en godkendelse; et påbud, et skærpet tilsyn, et afslag, et ophør


def way(method: str, source: str) -> str:
    """«observation af fysiske rammer», «trianguleringsinterview med værge»."""
    return f"{method} {_PREPOSITION.get(method, 'af')} {source}"


def with_article(kind: str) -> str:
    """The decision kind with its indefinite article."""
    return f"{'en' if kind.startswith(_COMMON_GENDER) else 'et'} {kind}"


def number_of(n: int, singular: str, plural: str) -> str:
    """«1 kvittering», «0 kvitteringer», «2 kvitteringer» — never «kvittering(er)»."""
    return f"{n} {singular if n == 1 else plural}"


def count_of(done: int, total: int, singular: str, plural: str) -> str:
    """«1 af 1 indikator opfyldt» takes the singular; «2 af 3 indikatorer» the plural (by the total)."""
    return f"{done} af {total} {singular if total == 1 else plural}"


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


def danish_day(value: str) -> str:
    """The calendar day in Denmark (``2026-10-07``) of a stored instant: ``2026-10-06T22:30:00Z`` is the 7th."""
    moment = to_local(value)
    return moment.date().isoformat() if moment is not None else str(value)[:10]


def today() -> date:
    """Today in Denmark (a frist is overdue from the Danish day after it, not the UTC one)."""
    return datetime.now(ZONE).date()


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
