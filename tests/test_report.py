"""``tilsyn report`` and ``tilsyn letter``: the documents a socialtilsyn sends — complete, escaped, offline.

The scenario is the demo supervision (a påbud on criterion 2.3 with a follow-up plan), plus a tilbud
whose name is a script and whose observations carry markup and control characters, and a tilbud with
no decision at all — one completed and one aborted visit, observations, a marker verdict and a
correction — whose report must still carry its datagrundlag. The browser tests run Debian's chromium
headless (see tests/browser.py); the PDF tests read the PDF back with pypdf and poppler's pdftotext.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import importlib.util
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.demo import PAABUD_SEQ, run_demo
from tilsyn.cli.documents import danish
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

TILBUD, HOSTILE, QUIET = "T-1001", "T-666", "T-2002"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_TEXT = "Første linje <b>fed</b> & <img src=x onerror=alert(2)>\nAnden linje \x1b[31mrød\x1b[0m \u202eomvendt\u202c"
SUPERVISOR, LEADER, MANAGER, AUTHORITY = "Karen Holm", "Lone Dahl", "Mette Lund", "Socialtilsyn Øst"
PLAN_HEADINGS = ["TEMA", "EMNE", "MÅL", "HVAD?", "HVORDAN?", "HVORNÅR?", "DOKUMENTATION", "HVEM?", "RESULTAT"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo ledger, a hostile tilbud and a tilbud with no decision next to it, and a checkpoint over all."""
    directory = tmp_path_factory.mktemp("report")
    assert run_demo(directory).ok
    plugins = default_plugins()
    with Ledger.open(str(directory / "tilsyn.db"), plugins.policy(), kek=load_kek(directory)) as ledger:
        karen = ledger.signer(SUPERVISOR, KeyStore(directory))
        sup = Supervision(ledger, plugins)
        sup.record(karen, HOSTILE, ev.TILBUD_REGISTERED, {
            "tilbud": HOSTILE, "name": HOSTILE_NAME, "tilbud_type": "døgntilbud", "has_board": False})
        sup.record(karen, HOSTILE, ev.VISIT_STARTED, {"visit": "B1", "kind": "uanmeldt"})
        sup.record(karen, HOSTILE, ev.OBSERVATION, {
            "marker": "2.3.1", "source": "borger", "method": "interview", "text": HOSTILE_TEXT})
    quiet = [
        ("tilbud", "add", QUIET, "--name", "Opholdsstedet Kastanjen", "--type", "døgntilbud",
         "--occurred-at", "2026-03-01"),
        ("visit", "start", QUIET, "--kind", "anmeldt", "--occurred-at", "2026-03-10T08:30:00Z"),
        ("observe", QUIET, "1.1.1", "--source", "ledelse", "--method", "interview", "--visit", "B1", "--occurred-at",
         "2026-03-10T09:00:00Z", "--text", "Ledelsen beskriver målgruppen.\nBeskrivelsen findes også på Tilbudsportalen."),
        ("visit", "abort", QUIET, "--reason", "Tilbuddet var lukket på grund af sygdom.", "--occurred-at",
         "2026-03-10T10:00:00Z"),
        ("visit", "start", QUIET, "--kind", "uanmeldt", "--occurred-at", "2026-04-02T08:00:00Z"),
        ("observe", QUIET, "1.1.1", "--source", "medarbejder", "--method", "interview", "--visit", "B2", "--occurred-at",
         "2026-04-02T09:00:00Z", "--text", "Medarbejderne kender målgruppebeskrivelsen."),
        ("observe", QUIET, "1.1.2", "--source", "dokumenter", "--method", "dokumentanalyse", "--occurred-at",
         "2026-04-02T10:00:00Z", "--text", "Forkert dokument gennemgået."),
        ("visit", "complete", QUIET, "--occurred-at", "2026-04-02T12:00:00Z"),
        ("assess", "marker", QUIET, "1.1.1", "til stede", "--reason", "Målgruppen er beskrevet og kendt.",
         "--occurred-at", "2026-04-03T10:00:00Z"),
    ]
    for args in quiet:
        result = tilsyn(directory, "--as", SUPERVISOR, *args)
        assert result.exit_code == 0, (args, result.output)
    result = tilsyn(directory, "--as", MANAGER, "plan", "add", QUIET, "--priority", "1", "--start", "2026-05-01",
                    "--slut", "Varig ordning", "--tema", "1 Målgruppe, metoder og resultater", "--emne",
                    "Målgruppebeskrivelsen skal bruges i hverdagen.", "--maal", "Alle kender målgruppen.",
                    "--hvad", "Ugentligt personalemøde\nMånedlig opfølgning med ledelsen", "--hvordan", "Mødetid",
                    "--dokumentation", "Referater", "--hvem", "Forstanderen", "--occurred-at", "2026-04-20")
    assert result.exit_code == 0, result.output
    wrong = _seq_of(directory, QUIET, "Forkert dokument")
    result = tilsyn(directory, "--as", SUPERVISOR, "correct", QUIET, str(wrong), "--reason",
                    "Observationen hørte til et andet tilbud.", "--occurred-at", "2026-04-04")
    assert result.exit_code == 0, result.output
    assert tilsyn(directory, "--as", AUTHORITY, "checkpoint").exit_code == 0
    return directory


def paabud(directory: Path):
    """The demo's påbud as recorded: (seq, occurred_at, payload)."""
    with Ledger.open(str(directory / "tilsyn.db"), default_plugins().policy()) as ledger:
        e = next(e for e in ledger.read(stream=f"tilbud/{TILBUD}") if e.type == ev.DECISION_ISSUED)
        return e.seq, e.occurred_at, e.payload


def _seq_of(directory: Path, tilbud: str, text: str) -> int:
    with Ledger.open(str(directory / "tilsyn.db"), default_plugins().policy()) as ledger:
        return next(e.seq for e in ledger.read(stream=f"tilbud/{tilbud}") if text in str(e.payload.get("text")))


def tilsyn(directory: Path, *args: str):
    env = {"TILSYN_DB": str(directory / "tilsyn.db"), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None,
           "TILSYN_PASSPHRASE": None}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def write_doc(directory: Path, *args: str, reader: str | None = SUPERVISOR, suffix: str = ".html") -> Path:
    name = "-".join(a.strip("-") for a in args).replace("/", "_") + f"-{reader or 'anonym'}{suffix}"
    out = directory / name
    result = tilsyn(directory, *(["--as", reader] if reader else []), *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def write_report(directory: Path, tilbud: str, *args: str, reader: str | None = SUPERVISOR) -> str:
    return write_doc(directory, "report", tilbud, *args, reader=reader).read_text(encoding="utf-8")


def visible_text(page: str) -> str:
    """The page's text with tags dropped and entities decoded, whitespace collapsed."""
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def body_text(page: str) -> str:
    """The visible text before the appendix (where hashes and technical names belong)."""
    return visible_text(page.split('<section id="bilag"')[0])


# -- the tilsynsrapport ---------------------------------------------------------------------------


def test_the_report_holds_every_section_of_a_tilsynsrapport(demo):
    # As it stood before the follow-up visit B3 (påbud + 9), while the påbud was open; the demo goes on to
    # fulfil it (issue 13).
    page = write_report(demo, TILBUD, "--as-of", str(PAABUD_SEQ + 8))
    text = visible_text(page)
    for heading in ("Tilbudsoplysninger", "Tilsynsbesøg", "Samlet vurdering", "Vurdering efter tema", "Økonomi",
                    "Risikovurdering", "Afgørelser", "Opfølgningsplan", "Regionale kvalitetsstandarder",
                    "Anbefalinger", "Rettelser", "Kontrol af rapporten", "Bilag"):
        assert re.search(rf"<h2[^>]*>{re.escape(html.escape(heading))}", page), heading
    assert "Bostedet Lærkehøj" in text and "T-1001" in text and "døgntilbud" in text
    assert "Fornøden kvalitet: nej" in text and "Kriterium 2.3 Tilbuddet forebygger magtanvendelser" in text
    assert "15. september 2026 kl. 11.00 (CEST)" in text  # the visit, in Danish local time
    assert "Mette Lund (tilbudsleder), 3 medarbejdere, 2 borgere" in text  # who took part in it
    seq, at, _ = paabud(demo)
    assert f"Påbud af {danish.dato(at)}" in text and "31. januar 2027" in text  # the påbud and its frist
    for heading in PLAN_HEADINGS:
        assert f">{html.escape(heading)}<" in page, heading
    assert "01.10.2026 – 15.01.2027" in text  # HVORNÅR? of P2, after its revision
    assert "Revideret 2. november 2026 af Mette Lund: slutdato ændret til 15.01.2027" in text
    assert "Standard 1.3 Individuelle planer" in text and "Trin 3" in text
    assert "10. oktober 2026" in text  # the date an indikator was checked
    assert "Interview af borger" in text and "Datagrundlag" in text  # sources and methods per marker
    assert "Anders, 34 år" in text  # a tilsynskonsulent reads personal data in clear


def test_the_body_speaks_danish_without_ledger_jargon(demo):
    page = write_report(demo, TILBUD)
    body = body_text(page)  # the verification section too: only the appendix may be technical
    for jargon in ("seq", "Merkle", "C2SP", "tlog", "checkpoint", "UTC", "plugin", "kvalitetsmodel-2025",
                   "@2025", "2026-09-", "opfoelgningsplan", "undersoegelsesdesign", "begrundelsen har"):
        assert jargon.lower() not in body.lower(), jargon
    assert "designelement" not in body  # internal findings stay in the internal view


def test_date_only_values_have_no_time(demo):
    page = write_report(demo, QUIET)
    text = visible_text(page.split('<section id="kontrol"')[0])  # the generation time below is a real time
    assert not re.search(r"kl\. 0[012]\.00", text)
    assert "kl. 10.00 (CEST)" in text
    assert "4. april 2026" in text  # the correction was dated, not timed


def test_a_tilbud_with_no_decision_still_has_its_datagrundlag(demo):
    page = write_report(demo, QUIET)
    text = visible_text(page)
    assert "Opholdsstedet Kastanjen" in text and "Tilsynet har ikke truffet afgørelser" in text
    assert "Medarbejderne kender målgruppebeskrivelsen." in text
    assert "Interview af ledelse" in text and "Interview af medarbejder" in text
    # the aborted visit is marked, and so is the data collected on it
    assert re.search(r"afbrudt – tæller ikke som gennemført besøg\. Årsag: Tilbuddet var lukket", text)
    assert re.search(r"besøg B1 – afbrudt besøg\s*\)", text)
    assert "10. marts 2026 kl. 09.30 (CET)" in text  # winter time in March
    # line breaks in user text are kept (as text, shown by the style sheet)
    assert "Ledelsen beskriver målgruppen.\nBeskrivelsen findes også på Tilbudsportalen." in html.unescape(page)
    # the withdrawn observation is gone from the datagrundlag, and the correction is said where it applies
    assert "Forkert dokument gennemgået." not in text
    assert re.search(r"1\.1\.2 .{0,300}Rettet 4\. april 2026 af Karen Holm: observation fra 2\. april 2026 er trukket "
                     r"tilbage\. Begrundelse: Observationen hørte til et andet tilbud\.", text)
    assert "Ingen registreringer er rettet" not in text
    # a plan cell keeps its line breaks, and "Varig ordning" stands where an end date would
    assert re.search(r'<td class="text">Ugentligt personalemøde\nMånedlig opfølgning med ledelsen</td>', page)
    assert "01.05.2026 – Varig ordning" in text


def test_personal_data_is_shown_only_to_supervisors(demo):
    for reader in (MANAGER, None):
        text = visible_text(write_report(demo, TILBUD, reader=reader))
        assert "Anders" not in text
        assert "«personoplysning skjult»" in text and "skjult – kun tilsynets" in text


def test_the_page_loads_nothing(demo):
    page = write_report(demo, TILBUD)
    # The signed checkpoint is base64 text (it may hold «//E…»), not markup: judge the rest for URLs.
    markup = re.sub(r'<pre class="note-text"[^>]*>[^<]*</pre>', "", page)
    assert not re.search(r"https?:|//[a-z]", markup, re.I), "no URL of any kind"
    assert not re.search(r"\bsrc\s*=|@import|url\(|<script|<link|<img|<iframe|<object|<embed", page, re.I)
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_hostile_text_is_text(demo):
    page = write_report(demo, HOSTILE)
    assert HOSTILE_NAME not in page and html.escape(HOSTILE_NAME) in page
    assert "<script" not in page.lower() and "<b>fed</b>" not in page and "<img" not in page
    assert "&lt;b&gt;fed&lt;/b&gt;" in page
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", page), "no raw control characters"
    text = visible_text(page)
    assert "⟨U+001B⟩[31mrød⟨U+001B⟩[0m" in text and "⟨U+202E⟩omvendt⟨U+202C⟩" in text
    assert "Første linje" in text and "\nAnden linje" in html.unescape(page)


def test_as_of_replays_the_report_before_the_paabud(demo):
    text = visible_text(write_report(demo, TILBUD, "--as-of", str(paabud(demo)[0] - 1)))
    assert "Tilsynet har ikke truffet afgørelser" in text and "Der er ikke registreret en opfølgningsplan" in text
    assert "som det stod i tilsynets registreringer" in text


def test_the_internal_view_adds_findings_suggestions_and_trees(demo):
    external = visible_text(write_report(demo, TILBUD))
    internal = visible_text(write_report(demo, TILBUD, "--internal"))
    assert "Interne fund" not in external and "Afgørelsernes grundlag" not in external
    assert "intern udgave" in internal and "Interne fund" in internal
    assert "opfølgningsplanen er ændret efter godkendelsen" in internal  # a finding
    assert "forslag:" in internal  # suggested verdicts beside decided ones
    assert "✓ signatur" in internal and "✓ inklusionsbevis" in internal
    assert "✗ signatur" not in internal and "✗ inklusionsbevis" not in internal
    assert "Observation interview af borger" in internal  # the tree reaches the observations


def test_unknown_tilbud_bad_output_and_stdout(demo):
    result = tilsyn(demo, "report", "T-9999", "--out", str(demo / "nope.html"))
    assert result.exit_code == 2 and "unknown tilbud 'T-9999'" in result.output
    assert not (demo / "nope.html").exists()
    result = tilsyn(demo, "report", TILBUD, "--out", str(demo / "no-such-folder" / "r.html"))
    assert result.exit_code == 2 and result.output.startswith("tilsyn: error: ")
    result = tilsyn(demo, "report", TILBUD, "--out", "-", "--pdf")
    assert result.exit_code == 2 and "stdout" in result.output
    result = tilsyn(demo, "--as", SUPERVISOR, "report", TILBUD, "--out", "-")
    assert result.exit_code == 0 and result.output.startswith("<!DOCTYPE html>")


def test_documents_say_in_danish_or_as_json_what_was_written(demo):
    out = demo / "svar.html"
    said = tilsyn(demo, "--as", SUPERVISOR, "report", TILBUD, "--out", str(out))
    assert said.exit_code == 0 and "1 kvittering skrevet ved siden af" in said.output and "(er)" not in said.output
    letter = tilsyn(demo, "letter", TILBUD, str(PAABUD_SEQ), "--out", str(demo / "svar.pdf"), "--json")
    assert letter.exit_code == 0, letter.output
    assert json.loads(letter.stdout) == {
        "document": "Afgørelse for T-1001", "out": str(demo / "svar.pdf"), "format": "pdf/a",
        "receipts": [f"T-1001-afgoerelse-{PAABUD_SEQ}.tlog-proof"], "receipts_embedded": True,
        "personal_data_in_clear": False}
    shown = json.loads(tilsyn(demo, "--as", SUPERVISOR, "report", TILBUD, "--out", str(out), "--json").stdout)
    assert shown["format"] == "html" and shown["personal_data_in_clear"] is True and not shown["receipts_embedded"]
    refused = tilsyn(demo, "report", TILBUD, "--out", "-", "--json")
    assert refused.exit_code == 2 and refused.output.startswith("tilsyn: error: ")


def test_the_verification_section_names_the_checkpoint(demo):
    page = write_report(demo, TILBUD)
    text = visible_text(page)
    cp = latest_checkpoint_of(demo)
    assert f"kontrolpunkt nr. {cp.id}" in text and f"de første {cp.size} registreringer" in text
    assert "er underskrevet digitalt af den person" in text
    appendix = visible_text(page.split('<section id="bilag"')[1])
    assert cp.root.hex() in appendix and cp.note.splitlines()[2] in appendix


def latest_checkpoint_of(directory: Path):
    with Ledger.open(str(directory / "tilsyn.db"), default_plugins().policy()) as ledger:
        return latest_checkpoint(ledger)


def test_no_document_from_a_ledger_that_does_not_verify(demo, tmp_path):
    """An insider rewrites an observation in the database: no report, no letter, exit 1."""
    copy = tmp_path / "tampered"
    shutil.copytree(demo, copy)
    seq = _seq_of(copy, TILBUD, "En anden borger bekræfter")
    decision = str(paabud(copy)[0])
    with sqlite3.connect(copy / "tilsyn.db") as db:
        (record,) = db.execute("SELECT record FROM events WHERE seq = ?", (seq,)).fetchone()
        fields = json.loads(record)
        statement = base64.b64decode(fields["statement"])
        fields["statement"] = base64.b64encode(statement.replace("En anden borger".encode(),
                                                                 "Ingen borger".encode())).decode()
        forged = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        assert forged != bytes(record)
        db.execute("UPDATE events SET record = ? WHERE seq = ?", (forged, seq))
    for args in (("report", TILBUD), ("letter", TILBUD, decision)):
        out = copy / f"{args[0]}.html"
        result = tilsyn(copy, "--as", SUPERVISOR, *args, "--out", str(out))
        assert result.exit_code == 1, result.output
        assert result.output.startswith("tilsyn: error: ") and f"seq {seq}" in result.output
        assert not out.exists()


def test_a_record_changed_after_this_machine_verified_it_stops_the_document(demo, tmp_path):
    """The document trusts the verified read for signatures: the verified state in the key home binds the
    bytes, so a record rewritten after a first report (no new full verification) still stops the next."""
    copy = tmp_path / "verified-then-tampered"
    shutil.copytree(demo, copy)
    write_doc(copy, "report", TILBUD)  # this machine now holds a verified state covering every event
    seq = _seq_of(copy, TILBUD, "En anden borger bekræfter")
    with sqlite3.connect(copy / "tilsyn.db") as db:
        (record,) = db.execute("SELECT record FROM events WHERE seq = ?", (seq,)).fetchone()
        fields = json.loads(record)
        fields["signature"] = base64.b64encode(bytes(64)).decode()  # a signature that cannot verify
        forged = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        leaf = hashlib.sha256(b"\x00" + forged).digest()  # the insider fixes up the leaf hash column too
        db.execute("UPDATE events SET record = ?, leaf_hash = ? WHERE seq = ?", (forged, leaf, seq))
    out = copy / "report-again.html"
    result = tilsyn(copy, "--as", SUPERVISOR, "report", TILBUD, "--out", str(out))
    assert result.exit_code == 1, result.output
    assert result.output.startswith("tilsyn: error: ") and not out.exists()


def test_a_forged_merkle_node_is_rebuilt_and_the_document_is_the_same(demo, tmp_path):
    """Inclusion of all the tilbud's events is checked in one walk over the stored tree; a stored node that
    lies about the other events gives another root, so single proofs are checked against the signed root
    — the cache is rebuilt from the verified records (verified_proofs) and the document is written as before."""
    copy = tmp_path / "forged-node"
    shutil.copytree(demo, copy)
    before = write_doc(copy, "report", TILBUD).read_text(encoding="utf-8")
    cp = latest_checkpoint_of(copy)
    with Ledger.open(str(copy / "tilsyn.db"), default_plugins().policy()) as ledger:
        mine = {e.seq - 1 for e in ledger.read(stream=f"tilbud/{TILBUD}") if e.seq <= cp.size}
    # A node over events of other streams only (the genesis and key events at the start of the ledger).
    level, idx = next((lv, i) for lv in range(6, -1, -1) for i in range(cp.size >> lv)
                      if not any(i << lv <= x < (i + 1) << lv for x in mine))
    with sqlite3.connect(copy / "tilsyn.db") as db:
        assert db.execute("UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?",
                          (bytes(32), level, idx)).rowcount == 1
    after = write_doc(copy, "report", TILBUD).read_text(encoding="utf-8")
    strip = lambda page: re.sub(r"20\d\d-\d\d-\d\dT[0-9:.]+Z|\d+\. \w+ 20\d\d kl\. [0-9.:]+", "", page)  # noqa: E731
    assert strip(after) == strip(before)
    with sqlite3.connect(copy / "tilsyn.db") as db:  # the cache holds the true node again
        assert db.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", (level, idx)).fetchone()[0] \
            != bytes(32)


# -- letters ----------------------------------------------------------------------------------------


def test_the_afgoerelse_letter(demo):
    seq, at, payload = paabud(demo)
    page = write_doc(demo, "letter", TILBUD, str(seq), reader=LEADER).read_text(encoding="utf-8")
    text = visible_text(page)
    assert "Afgørelse om påbud – Bostedet Lærkehøj" in text
    assert re.search(r'aria-label="Afsender"><strong>Socialtilsyn Øst', page)  # the authority sends
    assert re.search(r'aria-label="Modtager">Bostedet Lærkehøj', page)  # to the tilbud
    for heading in ("Afgørelse", "Frist", "Begrundelse", "Hjemmel", "Partshøring", "Klagevejledning",
                    "Kontrol af brevet"):
        assert f"<h2>{heading}</h2>" in page or f">{heading}</h2>" in page, heading
    assert "senest 31. januar 2027" in text
    assert "Kvalitetskriterium 2.3: Tilbuddet forebygger magtanvendelser" in text
    assert "Kvalitetsmarkør 2.3.1" in text and "ikke til stede" in text
    assert "Med venlig hilsen Lone Dahl Tilsynsleder Socialtilsyn Øst" in text  # name, title, authority
    assert "seq" not in body_text(page).lower()


def test_a_letter_for_something_that_is_no_act(demo):
    result = tilsyn(demo, "letter", TILBUD, "7", "--out", str(demo / "x.html"))
    assert result.exit_code == 2 and "seq 7 is not a varsel or a decision" in result.output
    assert not (demo / "x.html").exists()
    result = tilsyn(demo, "letter", QUIET, "7", "--out", str(demo / "x.html"))
    assert result.exit_code == 2 and "(it has none)" in result.output


# -- PDF ------------------------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    """The PDF's text as poppler reads it (pdftotext), or pypdf's reading where poppler is missing."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                              check=True).stdout
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_the_report_as_pdf_a(demo):
    from pypdf import PdfReader

    path = write_doc(demo, "report", TILBUD, suffix=".pdf")
    assert path.read_bytes().startswith(b"%PDF-")
    text = re.sub(r"\s+", " ", pdf_text(path))
    for section in ("Tilbudsoplysninger", "Samlet vurdering", "Vurdering efter tema", "Opfølgningsplan",
                    "Kontrol af rapporten", "Klagevejledning", "Hjemmel"):
        assert section in text, section
    reader = PdfReader(path)
    info = reader.metadata
    assert info.title == "Tilsynsrapport – Bostedet Lærkehøj" and info.author == AUTHORITY
    assert reader.trailer["/Root"].get("/Lang") == "da"
    xmp = reader.xmp_metadata
    assert xmp is not None
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert re.search(r"pdfaid:part[^0-9]{1,4}3", raw) and re.search(r"pdfaid:conformance[^A-Z]{1,4}B", raw)
    intent = reader.trailer["/Root"]["/OutputIntents"][0].get_object()
    assert intent["/S"] == "/GTS_PDFA1" and "sRGB" in intent["/OutputConditionIdentifier"]
    if shutil.which("pdffonts"):  # PDF/A embeds every font
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        rows = fonts.splitlines()[2:]
        assert rows and all(" yes " in row for row in rows), fonts


def test_no_page_of_the_report_body_is_left_half_empty(demo):
    """A marker with many observations breaks between them; it does not leave 40 % of a page blank (seen
    on the demo's page 2). Only the page before the landscape plan or the appendix may end early."""
    path = write_doc(demo, "report", TILBUD, suffix=".pdf")
    boxes = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', boxes, re.S)
    for number, (height, body) in enumerate(pages[:-1], 1):
        following = re.search(r"<word[^>]*>([^<]*)</word>", pages[number][1])
        if following and following.group(1) in ("Opfølgningsplan", "Bilag:"):
            continue
        # The lowest line of text above the running footer, as a share of the page height.
        lowest = max(float(y) for y in re.findall(r'yMax="([\d.]+)"', body) if float(y) < 0.93 * float(height))
        assert lowest / float(height) > 0.75, f"page {number} ends at {lowest / float(height):.0%} of its height"


def log_policy(directory: Path) -> Path:
    """A C2SP tlog-policy trusting only the authority's log key (no witness quorum in this scenario)."""
    from tilsyn.ledger.witnessing import log_vkey

    with Ledger.open(str(directory / "tilsyn.db"), default_plugins().policy()) as ledger:
        vkey = log_vkey(ledger)
    path = directory / "policy.txt"
    path.write_text(f"log {vkey}\nquorum none\n", encoding="utf-8")
    return path


def test_the_receipts_travel_with_the_documents_and_verify_without_the_database(demo, tmp_path):
    from pypdf import PdfReader

    seq = paabud(demo)[0]
    name = f"{TILBUD}-afgoerelse-{seq}.tlog-proof"
    pdf = write_doc(demo, "letter", TILBUD, str(seq), "--pdf", reader=LEADER)
    attached = PdfReader(pdf).attachments
    assert list(attached) == [name]
    receipt = tmp_path / name
    receipt.write_bytes(attached[name][0])
    policy = log_policy(demo)
    result = CliRunner().invoke(cli, ["verify-receipt", "--policy", str(policy), str(receipt)],
                                env={"TILSYN_DB": str(tmp_path / "no-such.db")})
    assert result.exit_code == 0, result.output
    assert f"seq {seq} (tilsyn.DecisionIssued/1 in tilbud/{TILBUD}" in result.output
    page = write_doc(demo, "report", TILBUD)  # HTML: the receipt is written beside the page
    beside = page.with_name(name)
    assert beside.read_bytes() == receipt.read_bytes()
    text = visible_text(page.read_text(encoding="utf-8"))
    assert "kvitteringen for afgørelsen følger med rapporten som vedhæftet fil" in text
    import hashlib
    assert hashlib.sha256(receipt.read_bytes()).hexdigest() in text


def test_the_letter_as_pdf_has_hjemmel_and_klagevejledning(demo):
    seq, _, payload = paabud(demo)
    path = write_doc(demo, "letter", TILBUD, str(seq), "--pdf", reader=LEADER)
    text = re.sub(r"\s+", " ", pdf_text(path))
    # the legal texts are printed as they were signed with the decision, or said to be missing — never made up
    for field, missing in (("hjemmel", "Hjemmel er ikke registreret"),
                           ("klagevejledning", "Klagevejledning er ikke registreret")):
        if payload.get(field):
            assert re.sub(r"\s+", " ", payload[field]) in text, field
            assert missing not in text
        else:
            assert missing in text, field
    assert "Afgørelse om påbud – Bostedet Lærkehøj" in text
    assert "Hjemmel" in text and "Klagevejledning" in text and "Partshøring" in text
    assert "31. januar 2027" in text


# -- in a real browser --------------------------------------------------------------------------


def test_the_report_renders_in_chromium_without_console_messages(demo, tmp_path):
    out = tmp_path / "rapport.html"
    out.write_text(write_report(demo, TILBUD), encoding="utf-8")
    shown = browser.render(out, tmp_path / "chromium")
    png = shown.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 50_000  # a rendered page, not a blank one
    assert "Bostedet Lærkehøj" in shown.dom and "DOKUMENTATION" in shown.dom
    assert shown.console == [], "\n".join(shown.console)
    assert shown.requests == [], "nothing fetched from the network"


def test_the_hostile_report_renders_inert(demo, tmp_path):
    out = tmp_path / "hostile.html"
    out.write_text(write_report(demo, HOSTILE), encoding="utf-8")
    shown = browser.render(out, tmp_path / "chromium")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.dom  # text, not an element
    assert "<script" not in shown.dom.lower() and "<img" not in shown.dom.lower()
    assert shown.console == [], "\n".join(shown.console)
    assert shown.requests == []


def test_the_letter_renders_in_chromium_without_console_messages(demo, tmp_path):
    out = write_doc(demo, "letter", TILBUD, str(paabud(demo)[0]), reader=LEADER)
    shown = browser.render(out, tmp_path / "chromium")
    assert "Klagevejledning" in shown.dom
    assert shown.console == [], "\n".join(shown.console)
    assert shown.requests == []


def test_the_console_check_can_fail(tmp_path):
    """A page with a deliberate script error and a console.error: the check must see both."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>fejl</title></head>'
                   "<body><p>fejl</p><script>undefinedFunction();</script>"
                   '<script>console.error("bevidst fejl");</script></body></html>', encoding="utf-8")
    shown = browser.render(bad, tmp_path / "chromium")
    assert any("ReferenceError" in line and "undefinedFunction" in line for line in shown.console), shown.stderr[-2000:]
    assert any("bevidst fejl" in line for line in shown.console)


def test_the_network_check_can_fail(tmp_path):
    """A page that asks for a style sheet and an image over the network: the check must see both."""
    bad = tmp_path / "fetching.html"
    bad.write_text('<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>henter</title>'
                   '<link rel="stylesheet" href="https://fonts.example.invalid/a.css"></head>'
                   '<body><img src="http://tracker.example.invalid/p.png" alt=""></body></html>', encoding="utf-8")
    shown = browser.render(bad, tmp_path / "chromium")
    assert sorted(shown.requests) == ["http://tracker.example.invalid/p.png", "https://fonts.example.invalid/a.css"]


def test_a_damaged_template_cache_only_means_compiling_again(demo, tmp_path):
    """The compiled templates kept between runs are a cache: garbage in its files changes nothing."""
    from tilsyn.cli.documents import environment

    cache = environment().bytecode_cache
    assert cache is not None
    first = write_doc(demo, "report", TILBUD).read_text(encoding="utf-8")
    files = list(Path(cache.directory).glob(cache.pattern % "*"))
    assert files
    from jinja2.bccache import bc_magic

    for f in files:  # the right header, then garbage where the checksum and the code belong
        f.write_bytes(bc_magic + b"not a compiled template")
    environment.cache_clear()
    try:
        again = write_doc(demo, "report", TILBUD).read_text(encoding="utf-8")
    finally:
        environment.cache_clear()
    strip = lambda page: re.sub(r"20\d\d-\d\d-\d\dT[0-9:.]+Z|\d+\. \w+ 20\d\d kl\. [0-9.:]+", "", page)  # noqa: E731
    assert strip(again) == strip(first)


def test_the_pdf_helper_writes_what_write_pdf_writes_and_reports_failure_in_one_line(tmp_path):
    """PDFs are written by a helper process that loads WeasyPrint early (documents/pdf.py): the same
    write_pdf, so the same text; a failure comes back as one reason; an unused helper is stopped."""
    from tilsyn.cli.documents import write_pdf
    from tilsyn.cli.documents.pdf import PdfHelper

    page = ("<!doctype html><html lang=da><head><meta charset=utf-8><title>Prøve</title>"
            "<meta name=author content='Socialtilsyn Øst'></head><body><p>Første linje æøå</p></body></html>")
    here, there = tmp_path / "here.pdf", tmp_path / "there.pdf"
    write_pdf(page, here)
    PdfHelper().write(page, str(there), [])
    text = lambda p: subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True).stdout  # noqa: E731
    assert "Første linje æøå" in text(there) and text(there) == text(here)
    with pytest.raises(RuntimeError, match="the PDF could not be written"):
        PdfHelper().write(page, str(tmp_path / "no such folder" / "x.pdf"), [])
    helper = PdfHelper()
    proc = helper._proc
    helper.close()
    assert proc.returncode is not None  # stopped, not left loading WeasyPrint
