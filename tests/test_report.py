"""``tilsyn report``: the page a supervisor prints for a court — complete, escaped, offline, and it renders.

The scenario is the demo supervision (a påbud on criterion 2.3 with a follow-up plan), plus a tilbud
whose name is a script. The browser tests run Debian's chromium headless (see tests/browser.py).
"""

from __future__ import annotations

import html
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.demo import run_demo
from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.ledger.checkpoints import latest_checkpoint
from tilsyn.ledger.personal import load_kek
from tilsyn.plugins.manager import default_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.service import Supervision

# tests/ is not a package (pytest runs with --import-mode=importlib): load the helper by its path.
_spec = importlib.util.spec_from_file_location("tilsyn_tests_browser", Path(__file__).with_name("browser.py"))
browser = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(browser)

TILBUD, HOSTILE = "T-1001", "T-666"
HOSTILE_NAME = "<script>alert(1)</script>"
SUPERVISOR, MANAGER, AUTHORITY = "Karen Holm", "Mette Lund", "Socialtilsyn Øst"
PLAN_HEADINGS = ["TEMA", "EMNE", "MÅL", "HVAD?", "HVORDAN?", "HVORNÅR?", "DOKUMENTATION", "HVEM?", "RESULTAT"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo ledger, a hostile tilbud registered next to it, and a checkpoint over both."""
    directory = tmp_path_factory.mktemp("report")
    assert run_demo(directory).ok
    plugins = default_plugins()
    with Ledger.open(str(directory / "tilsyn.db"), plugins.policy(), kek=load_kek(directory)) as ledger:
        signer = ledger.signer(SUPERVISOR, KeyStore(directory))
        Supervision(ledger, plugins).record(signer, HOSTILE, ev.TILBUD_REGISTERED, {
            "tilbud": HOSTILE, "name": HOSTILE_NAME, "tilbud_type": "døgntilbud", "has_board": False})
    assert tilsyn(directory, "--as", AUTHORITY, "checkpoint").exit_code == 0
    return directory


def tilsyn(directory: Path, *args: str):
    env = {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None,
           "TILSYN_PASSPHRASE": None}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def write_report(directory: Path, tilbud: str, *args: str, reader: str | None = SUPERVISOR) -> str:
    out = directory / f"rapport-{tilbud}-{reader or 'anonym'}-{'-'.join(args) or 'nu'}.html"
    result = tilsyn(directory, *(["--as", reader] if reader else []), "report", tilbud, "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def visible_text(page: str) -> str:
    """The page's text with tags dropped and entities decoded, whitespace collapsed."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_report_holds_the_key_facts(demo):
    page = write_report(demo, TILBUD)
    text = visible_text(page)
    assert "Bostedet Lærkehøj" in text and "T-1001" in text and "døgntilbud" in text
    assert re.search(r"påbud \(seq \d+\) – frist 31-01-2027", text)  # the open påbud with its deadline
    for heading in PLAN_HEADINGS:
        assert f">{html.escape(heading)}<" in page, heading
    assert "2.3 Tilbuddet forebygger magtanvendelser" in text
    assert "Fornøden kvalitet nej – holdes tilbage af: Kriterium 2.3" in text
    assert "01-10-2026 – 15-01-2027" in text  # HVORNÅR? of P2, after its revision
    assert "Revideret (seq 23, Mette Lund): slut → 15-01-2027" in text
    assert "regional-1.3" in text and "Trin 3" in text
    assert "designelement 2.3.2.b «Interview af medarbejdere» er ikke dækket" in text  # a finding
    cp = latest_checkpoint_of(demo)
    assert cp.root.hex() in page and cp.note.splitlines()[2] in text
    assert "✓ signatur" in text and "✓ inklusionsbevis" in text
    assert "✗ signatur" not in text and "✗ inklusionsbevis" not in text
    assert "Anders, 34 år" in text  # a tilsynskonsulent reads personal data in clear


def latest_checkpoint_of(directory: Path):
    with Ledger.open(str(directory / "tilsyn.db"), default_plugins().policy()) as ledger:
        return latest_checkpoint(ledger)


def test_personal_data_is_shown_only_to_supervisors(demo):
    for reader in (MANAGER, None):
        text = visible_text(write_report(demo, TILBUD, reader=reader))
        assert "Anders" not in text
        assert "«personoplysning skjult»" in text and "Personoplysninger skjult" in text


def test_the_page_loads_nothing(demo):
    page = write_report(demo, TILBUD)
    assert not re.search(r"https?:|//[a-z]", page, re.I), "no URL of any kind"
    assert not re.search(r"\bsrc\s*=|@import|url\(|<script|<link|<img|<iframe|<object|<embed", page, re.I)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_a_hostile_name_is_escaped(demo):
    page = write_report(demo, HOSTILE)
    assert HOSTILE_NAME not in page
    assert html.escape(HOSTILE_NAME) in page
    assert "<script" not in page.lower()


def test_as_of_replays_the_report_before_the_paabud(demo):
    text = visible_text(write_report(demo, TILBUD, "--as-of", "18"))
    assert "Ingen afgørelser" in text and "genafspillet: --as-of 18" in text
    assert "Ingen opfølgningsplan registreret" in text


def test_unknown_tilbud_and_stdout(demo):
    result = tilsyn(demo, "report", "T-9999", "--out", str(demo / "nope.html"))
    assert result.exit_code == 2 and "unknown tilbud 'T-9999'" in result.output
    assert not (demo / "nope.html").exists()
    result = tilsyn(demo, "--as", SUPERVISOR, "report", TILBUD, "--out", "-")
    assert result.exit_code == 0 and result.output.startswith("<!DOCTYPE html>")


# -- in a real browser --------------------------------------------------------------------------


def test_the_report_renders_in_chromium_without_console_messages(demo, tmp_path):
    out = tmp_path / "rapport.html"
    out.write_text(write_report(demo, TILBUD), encoding="utf-8")
    shown = browser.render(out, tmp_path / "chromium")
    png = shown.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 50_000  # a rendered page, not a blank one
    assert "Bostedet Lærkehøj" in shown.dom and "DOKUMENTATION" in shown.dom
    assert shown.console == [], "\n".join(shown.console)


def test_the_hostile_report_renders_inert(demo, tmp_path):
    out = tmp_path / "hostile.html"
    out.write_text(write_report(demo, HOSTILE), encoding="utf-8")
    shown = browser.render(out, tmp_path / "chromium")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.dom  # text, not an element
    assert "<script" not in shown.dom.lower()
    assert shown.console == [], "\n".join(shown.console)


def test_the_console_check_can_fail(tmp_path):
    """A page with a deliberate script error and a console.error: the check must see both."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>fejl</title></head>'
                   "<body><p>fejl</p><script>undefinedFunction();</script>"
                   '<script>console.error("bevidst fejl");</script></body></html>', encoding="utf-8")
    shown = browser.render(bad, tmp_path / "chromium")
    assert any("ReferenceError" in line and "undefinedFunction" in line for line in shown.console), shown.stderr[-2000:]
    assert any("bevidst fejl" in line for line in shown.console)
