"""The pieces every document is made of: Danish dates and times, and user text shown as text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tilsyn.cli.documents import danish, plain, render

CPH = ZoneInfo("Europe/Copenhagen")
MONTHS = danish.MONTHS


def test_danish_dates_and_times():
    assert danish.dato("2026-12-01") == "1. december 2026"
    assert danish.dato("2027-01-31") == "31. januar 2027"
    assert danish.tid("2026-09-15T09:00:00.000000Z") == "15. september 2026 kl. 11.00 (CEST)"
    assert danish.tid("2026-12-01T23:30:00Z") == "2. december 2026 kl. 00.30 (CET)"  # the Danish day, not UTC's
    assert danish.tid("2026-09-01T00:00:00.000000Z") == "1. september 2026"  # made from a date: no "kl. 02.00"
    assert danish.tid("2026-03-29T01:00:00Z") == "29. marts 2026 kl. 03.00 (CEST)"  # the night the clocks go on
    assert danish.tid(None) == "–" and danish.dato("") == "–"
    assert danish.tid("ikke en tid") == "ikke en tid"  # shown as given, nothing hidden


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_a_time_reads_as_the_copenhagen_wall_clock(moment):
    utc = moment.replace(tzinfo=timezone.utc)
    text = danish.tid(utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    local = utc.astimezone(CPH)
    if (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0):
        assert text == f"{utc.day}. {MONTHS[utc.month - 1]} {utc.year}"
    else:
        assert text == (f"{local.day}. {MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M} "
                        f"({'CEST' if local.dst() != timedelta(0) else 'CET'})")


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_user_text_keeps_no_control_character_and_loses_nothing_else(text):
    shown = plain(text)
    assert not any(0 <= ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E
                   for c in shown)
    stripped = "".join(c for c in text.replace("\r\n", "\n").replace("\r", "\n")
                       if not (ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F
                               or ord(c) in (0x200E, 0x200F, 0xFEFF) or 0x202A <= ord(c) <= 0x202E
                               or 0x2066 <= ord(c) <= 0x2069))
    import re
    assert re.sub(r"⟨U\+[0-9A-F]{4}⟩", "", shown) == re.sub(r"⟨U\+[0-9A-F]{4}⟩", "", stripped)


def test_templates_escape_what_they_are_given():
    page = render("base.html", title="<script>x</script>", author='"a" & b', version="1", generated_at="2026-12-01T00:00:00Z",
                  running="</style><script>", doc_noun="")
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&#34;a&#34; &amp; b" in page
    assert "</style><script>" not in page  # the running footer is a CSS string, escaped
