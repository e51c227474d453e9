"""Issue 14 through the CLI contract: a quality verdict that cannot claim fornøden kvalitet falsely, and
the risk-driven method of seed 002 — one test per numbered item, as a tilsynskonsulent would type it.

The ledger and its people are set up through the Python API (as ``tilsyn demo`` does); every act under
test is a ``tilsyn`` command: exit 2 with one ``tilsyn: error:`` line and an unchanged ledger when refused.
"""

from __future__ import annotations

import json
import sqlite3
import contextlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.plugins.manager import default_plugins

AUTHORITY = "Socialtilsyn Øst"
KAREN, LARS, TOVE = "Karen Holm", "Lars Berg", "Tove Lund"
T = "T-7"


class Cli:
    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.db = tmp_path / "tilsyn.db"
        self.env = {"TILSYN_DB": str(self.db), "TILSYN_HOME": str(tmp_path), "TILSYN_ACTOR": None,
                    "TILSYN_PASSPHRASE": None}

    def __call__(self, *args: str, who: str = KAREN):
        return CliRunner().invoke(cli, ["--as", who, *args], env=self.env, catch_exceptions=False)

    def ok(self, *args: str, who: str = KAREN):
        r = self(*args, who=who)
        assert r.exit_code == 0, f"{args}: exit {r.exit_code}: {r.output}"
        return r

    def count(self) -> int:
        with contextlib.closing(sqlite3.connect(self.db)) as conn:
            return conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def refused(self, *args: str, who: str = KAREN) -> str:
        before = self.count()
        r = self(*args, who=who)
        assert r.exit_code == 2, f"{args}: expected a refusal, got {r.exit_code}: {r.output}"
        assert self.count() == before, "a refused act must leave the ledger unchanged"
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("tilsyn: error: "), r.stderr
        return lines[0]

    def status(self, *extra: str) -> dict:
        return json.loads(self.ok("status", T, "--json", *extra).stdout)

    def findings(self, rule: str | None = None) -> list[dict]:
        out = json.loads(self.ok("findings", T, "--json").stdout)[T]
        return [f for f in out if rule is None or f["rule"] == rule]

    # -- acts in domain words ---------------------------------------------------------------------
    def marker(self, marker: str, verdict: str, reason: str = "Vurderet ud fra observationerne."):
        return self.ok("assess", "marker", T, marker, verdict, "--reason", reason)

    def criterion(self, criterion: str, verdict: str, reason: str):
        return self.ok("assess", "criterion", T, criterion, verdict, "--reason", reason)


@pytest.fixture
def tilsyn(tmp_path) -> Cli:
    plugins = default_plugins()
    keystore = KeyStore(tmp_path)
    ledger, authority = Ledger.init(str(tmp_path / "tilsyn.db"), AUTHORITY, keystore, policy=plugins.policy())
    with ledger:
        for name, role in ((KAREN, "tilsynskonsulent"), (LARS, "tilsynsleder"), (TOVE, "tilbudsleder")):
            ledger.register_key(authority, name, [role], keystore)
    c = Cli(tmp_path)
    c.ok("tilbud", "add", T, "--name", "Bostedet Kastanjen", "--type", "døgntilbud", "--no-board",
         "--regional", "regional-1.3", "--godkendt", "2015-01-01", "--occurred-at", "2015-01-02")
    return c


def model():
    return default_plugins().catalog.get("kvalitetsmodel-2025")


def named(criterion_id: str, verdicts: dict[str, str] | None = None) -> str:
    """A begrundelse naming every marker of the criterion with its verdict."""
    verdicts = verdicts or {}
    parts = [f"Markør {m.id} er {verdicts.get(m.id, 'til stede')}." for m in model().criterion(criterion_id).markers]
    return " ".join(parts) + " Borgere og medarbejdere bekræfter det samstemmende ved interview."


def assess_all(c: Cli, failing: tuple[str, ...] = ()) -> None:
    for crit in model().criteria():
        verdicts = {}
        for i, m in enumerate(crit.markers):
            if "bestyrelse" in m.requires:
                verdicts[m.id] = "ikke aktuel"
                c.marker(m.id, "ikke-aktuel", "Tilbuddet har ingen bestyrelse.")
            elif crit.id in failing and i == 0:
                verdicts[m.id] = "ikke til stede"
                c.marker(m.id, "ikke-til-stede")
            else:
                c.marker(m.id, "til-stede")
        c.criterion(crit.id, "ikke-opfyldt" if crit.id in failing else "opfyldt", named(crit.id, verdicts))


# ---------------------------------------------------------------------------------------------------
# 1. Rule 3 always holds
# ---------------------------------------------------------------------------------------------------

def test_1_opfyldt_needs_every_applicable_marker_assessed_and_none_absent(tilsyn):
    c = tilsyn
    error = c.refused("assess", "criterion", T, "1.1", "opfyldt", "--reason", named("1.1"))
    assert "kriterium 1.1 kan først vurderes opfyldt, når markør 1.1.1, 1.1.2, 1.1.3, 1.1.4 er vurderet" in error
    for m in ("1.1.1", "1.1.2", "1.1.3"):
        c.marker(m, "til-stede")
    assert "når markør 1.1.4 er vurderet" in c.refused("assess", "criterion", T, "1.1", "opfyldt", "--reason",
                                                        named("1.1"))
    c.marker("1.1.4", "ikke-til-stede")
    assert "kan ikke være opfyldt, når markør 1.1.4 er vurderet ikke til stede" in c.refused(
        "assess", "criterion", T, "1.1", "opfyldt", "--reason", named("1.1"))
    c.marker("1.1.4", "til-stede", "Ny gennemgang viser resultatdokumentation.")
    c.criterion("1.1", "opfyldt", named("1.1"))
    # The board marker needs no verdict where there is no board: it cannot apply.
    c.marker("3.1.1", "til-stede")
    c.criterion("3.1", "opfyldt", named("3.1", {"3.1.2": "ikke aktuel"}) + " Markør 3.1.2 er ikke aktuel.")


def test_1_a_marker_turning_ikke_til_stede_under_opfyldt_is_refused(tilsyn):
    c = tilsyn
    for m in ("2.3.1", "2.3.2"):
        c.marker(m, "til-stede")
    c.criterion("2.3", "opfyldt", named("2.3"))
    error = c.refused("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", "Døre låses om aftenen.")
    assert "kriterium 2.3 står som opfyldt" in error and "vurderes igen (ikke opfyldt)" in error
    # The way through: the criterion first, then the marker.
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
    c.marker("2.3.1", "ikke-til-stede", "Døre låses om aftenen.")


def test_1_by_setting_it_makes_the_criterion_stale_a_serious_finding(tilsyn):
    c = tilsyn
    (c.dir / "tilsyn.toml").write_text('[settings]\n"kvalitetsmodel.ikke_til_stede_under_opfyldt" = "forældet"\n')
    import os
    old = os.getcwd()
    os.chdir(c.dir)
    try:
        for m in ("2.3.1", "2.3.2"):
            c.marker(m, "til-stede")
        c.criterion("2.3", "opfyldt", named("2.3"))
        c.marker("2.3.1", "ikke-til-stede", "Døre låses om aftenen.")
        s = c.status()
        row = next(x for t in s["themes"] for x in t["criteria"] if x["id"] == "2.3")
        assert row["stale"] and "markør 2.3.1 er nu vurderet ikke til stede" in row["stale_reason"]
        assert s["fornoeden_kvalitet"]["value"] is False and "2.3" in s["fornoeden_kvalitet"]["stale"]
        (f,) = c.findings("kriterium-forældet")
        assert f["severity"] == "alvorlig" and "det tæller ikke som opfyldt" in f["message"]
        assert "(forældet)" in c.ok("status", T).stdout
        # Reassessed: no longer stale.
        c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
        assert c.findings("kriterium-forældet") == []
    finally:
        os.chdir(old)


def test_1_a_withdrawn_marker_verdict_makes_opfyldt_stale(tilsyn):
    c = tilsyn
    first = json.loads(c.ok("assess", "marker", T, "2.3.1", "til-stede", "--reason", "Praksis forebygger.",
                            "--json").stdout)
    c.marker("2.3.2", "til-stede")
    c.criterion("2.3", "opfyldt", named("2.3"))
    c.ok("correct", T, str(first["seq"]), "--reason", "Registreret på det forkerte tilbud.")
    (f,) = c.findings("kriterium-forældet")
    assert "markør 2.3.1 har ingen gældende vurdering" in f["message"]


# ---------------------------------------------------------------------------------------------------
# 2. Fornøden kvalitet only when it is true
# ---------------------------------------------------------------------------------------------------

def test_2_ja_needs_every_criterion_on_assessed_markers_and_a_signed_oekonomi(tilsyn):
    c = tilsyn
    assess_all(c)
    fk = c.status()["fornoeden_kvalitet"]
    assert fk["value"] is None and fk["text"] == "ikke afgjort"
    assert fk["missing"] == ["temaet økonomi er ikke vurderet"]
    out = c.ok("status", T).stdout
    assert "Fornøden kvalitet: ikke afgjort" in out and "temaet økonomi er ikke vurderet" in out

    oek = json.loads(c.ok("assess", "oekonomi", T, "opfyldt", "--reason",
                          "Budget og regnskab understøtter indsatsen.", "--json").stdout)
    assert oek["type"] == "kvalitetsmodel.OekonomiAssessed/1" and oek["actor"] == KAREN
    s = c.status()
    assert s["fornoeden_kvalitet"]["value"] is True and s["fornoeden_kvalitet"]["text"] == "ja"
    assert s["oekonomi"]["verdict"] == "opfyldt" and s["oekonomi"]["seq"] == oek["seq"]
    assert oek["seq"] in s["fornoeden_kvalitet"]["seqs"]
    assert "Fornøden kvalitet: ja" in c.ok("status", T).stdout
    # Økonomi ikke opfyldt: nej, saying so.
    c.ok("assess", "oekonomi", T, "ikke-opfyldt", "--reason", "Tilbuddet har underskud tre år i træk.")
    fk = c.status()["fornoeden_kvalitet"]
    assert fk["value"] is False and fk["missing"] == ["temaet økonomi er ikke opfyldt"]
    # Only a tilsynskonsulent assesses it, with a reason.
    assert "det kræver rollen tilsynskonsulent" in c.refused("assess", "oekonomi", T, "opfyldt", "--reason",
                                                             "Vi synes selv.", who=TOVE)


def test_2_nej_or_ikke_afgjort_says_what_is_missing(tilsyn):
    c = tilsyn
    c.marker("1.1.1", "ikke-til-stede")
    fk = c.status()["fornoeden_kvalitet"]
    assert fk["value"] is False and fk["markers_absent"] == {"1.1": ["1.1.1"]}
    assert "kriterium 1.1 er ikke vurderet (markør 1.1.1 er ikke til stede)" in fk["missing"]
    assert "temaet økonomi er ikke vurderet" in fk["missing"]


def test_2_ikke_fornoeden_kvalitet_uden_afgoerelse(tilsyn, monkeypatch):
    c = tilsyn
    (c.dir / "tilsyn.toml").write_text('[settings]\n"supervision.klagevejledning" = "Kan påklages til Ankestyrelsen."\n')
    monkeypatch.chdir(c.dir)  # the operator's klagevejledning (issue 13)
    assess_all(c, failing=("2.3",))
    c.ok("assess", "oekonomi", T, "opfyldt", "--reason", "Budget og regnskab understøtter indsatsen.")
    (f,) = c.findings("ikke-fornoeden-kvalitet-uden-afgoerelse")
    assert f["message"].startswith("ikke fornøden kvalitet uden afgørelse: kriterium 2.3 er ikke opfyldt")
    c.ok("decide", T, "påbud", "--criterion", "2.3", "--deadline", "2099-01-31", "--reason",
         "Kriterium 2.3 er ikke opfyldt (markør 2.3.1); tilbuddet skal forebygge magtanvendelser.",
         "--indhold", "Tilbuddet skal sikre en praksis, der forebygger magtanvendelser.", "--hjemmel", "Hjemmel",
         "--uden-partshoering", "Testen hører ikke tilbuddet.", who=LARS)  # legal parts: issue 13
    assert c.findings("ikke-fornoeden-kvalitet-uden-afgoerelse") == []


# ---------------------------------------------------------------------------------------------------
# 3. The begrundelse names what it rests on
# ---------------------------------------------------------------------------------------------------

def test_3_begrundelse_names_each_marker_with_its_verdict(tilsyn):
    c = tilsyn
    for m in ("2.3.1", "2.3.2"):
        c.marker(m, "til-stede")
    c.criterion("2.3", "opfyldt", "Kriteriet er opfyldt; borgere og medarbejdere fortæller samstemmende om praksis.")
    (f,) = c.findings("begrundelse-navngiver")
    assert "markør 2.3.1 nævnes ikke (til stede)" in f["message"] and "markør 2.3.2 nævnes ikke" in f["message"]
    title = model().marker("2.3.2").title
    c.criterion("2.3", "opfyldt", f"Markør 2.3.1 er til stede. «{title}» ses, men uden vurdering.")
    (f,) = c.findings("begrundelse-navngiver")
    assert "markør 2.3.2 nævnes uden sin vurdering «til stede»" in f["message"]
    assert "2.3.1" not in f["message"]
    c.criterion("2.3", "opfyldt", f"Markør 2.3.1 er til stede, og {title.lower()} er til stede.")
    assert c.findings("begrundelse-navngiver") == []


def test_3_at_gul_and_rod_the_begrundelse_names_sources_and_methods(tilsyn):
    c = tilsyn
    c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
    c.ok("observe", T, "2.3.1", "--source", "borger", "--method", "interview", "--text", "Dørene låses.")
    c.ok("observe", T, "2.3.1", "--source", "dokumenter", "--method", "dokumentanalyse", "--text", "Fire indberetninger.")
    c.marker("2.3.1", "ikke-til-stede")
    c.marker("2.3.2", "til-stede")
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
    (f,) = c.findings("begrundelse-navngiver")
    assert "ved rød skal kilderne beskrives (mangler: dokumenter)" in f["message"]
    assert "ved rød skal metoderne beskrives (mangler: dokumentanalyse)" in f["message"]
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"})
                + " Dokumentanalyse af magtanvendelsesindberetninger viser fire indgreb.")
    assert c.findings("begrundelse-navngiver") == []


# ---------------------------------------------------------------------------------------------------
# 4. Risk colours mean something
# ---------------------------------------------------------------------------------------------------

def test_4_groen_while_a_criterion_is_ikke_opfyldt_is_a_finding(tilsyn):
    c = tilsyn
    c.marker("2.3.1", "ikke-til-stede")
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
    c.ok("risk", T, "grøn", "--reason", "Tilbuddet fremstår velfungerende.")
    (f,) = c.findings("groen-med-ikke-opfyldt")
    assert f["severity"] == "alvorlig" and "risikokategori grøn, men kriterium 2.3 er ikke opfyldt" in f["message"]


def test_4_gul_records_the_doubt_and_the_widened_design_and_expects_it_covered(tilsyn):
    c = tilsyn
    usage = c("risk", T, "gul", "--reason", "Tvivl om magtanvendelser.")
    assert usage.exit_code == 2 and "--doubt" in usage.output
    out = json.loads(c.ok("risk", T, "gul", "--reason", "Tvivl om praksis ved magtanvendelser.", "--doubt",
                          "Om borgerne udsættes for indgreb om aftenen.", "--widen", "2.3.1.d",
                          "--widen", "2.3.1:trianguleringsinterview:pårørende", "--json").stdout)
    assert [e["type"] for e in out] == ["kvalitetsmodel.RiskCategorised/1", "kvalitetsmodel.DesignWidened/1"]
    widened = out[1]["payload"]
    assert widened["elements"] == ["2.3.1.d"] and widened["ways"] == [
        {"marker": "2.3.1", "method": "trianguleringsinterview", "source": "pårørende"}]
    subjects = sorted(f["message"] for f in c.findings("udvidet-design-ikke-daekket"))
    assert len(subjects) == 2 and "2.3.1.d" in subjects[0] + subjects[1]
    c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
    c.ok("observe", T, "2.3.1", "--source", "fysiske rammer", "--method", "observation", "--element", "2.3.1.d",
         "--text", "Fællesarealets dør er aflåst.")
    c.ok("observe", T, "2.3.1", "--source", "pårørende", "--method", "trianguleringsinterview",
         "--instead-of-interview", "kan-ikke", "--text", "Moren fortæller om låste døre.")
    assert c.findings("udvidet-design-ikke-daekket") == []
    assert c.findings("gul-uden-udvidelse") == []


def test_4_gul_without_doubt_and_widening_is_reported_and_a_widening_needs_gul(tilsyn, tmp_path):
    c = tilsyn
    batch = tmp_path / "gul.toml"
    batch.write_text(f'tilbud = "{T}"\n[[event]]\ntype = "risk"\ncolour = "gul"\ncriterion = "2.3"\n'
                     f'reason = "Tvivl om magtanvendelser."\n', encoding="utf-8")
    c.ok("import", str(batch))
    (f,) = c.findings("gul-uden-udvidelse")
    assert f["subject"] == "kriterium 2.3"
    widen = tmp_path / "widen.toml"
    widen.write_text(f'tilbud = "{T}"\n[[event]]\ntype = "design-widened"\ncriterion = "1.1"\n'
                     f'doubt = "Om målene følges."\nelements = ["1.1.3.d"]\n', encoding="utf-8")
    assert "risikokategorien for kriterium 1.1 skal være gul (er ikke sat)" in c.refused("import", str(widen))


def test_4_widening_is_refused_unless_gul(tilsyn):
    c = tilsyn
    c.ok("risk", T, "grøn", "--reason", "Intet giver anledning til tvivl.")
    usage = c("risk", T, "grøn", "--reason", "Intet.", "--widen", "2.3.1.a")
    assert usage.exit_code == 2 and "belong to risk gul" in usage.output


def test_4_investigating_beyond_the_design_while_groen_is_reported(tilsyn):
    c = tilsyn
    c.ok("risk", T, "grøn", "--reason", "Intet giver anledning til tvivl.")
    c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
    c.ok("observe", T, "5.1.1", "--source", "borger", "--method", "interview", "--text", "Borgerne er glade.")
    (f,) = c.findings("ud-over-design-ved-groen")
    assert "uden for undersøgelsesdesignet" in f["message"] and f["severity"] == "info"
    # Information the tilsyn receives is not an investigation beyond the design.
    c.ok("observe", T, "5.1.1", "--source", "whistleblowerordningen", "--method", "dokumentanalyse",
         "--text", "Henvendelse om mangelfuld vedligeholdelse.")
    assert len(c.findings("ud-over-design-ved-groen")) == 1


def test_4_the_risk_history_is_kept_and_shown(tilsyn):
    c = tilsyn
    c.ok("risk", T, "grøn", "--reason", "Intet giver anledning til tvivl.")
    c.ok("risk", T, "gul", "--reason", "Underretning om magtanvendelser.", "--doubt",
         "Om borgerne udsættes for indgreb.", "--widen", "2.3.1.d")
    c.ok("risk", T, "rød", "--reason", "Kriterium 2.3 er ikke opfyldt.")
    s = c.status()
    history = s["risk_history"]
    assert [r["colour"] for r in history] == ["grøn", "gul", "rød"]
    assert [r["current"] for r in history] == [False, False, True]
    assert history[1]["widened"][0]["elements"] == ["2.3.1.d"]
    assert history[1]["widened"][0]["doubt"] == "Om borgerne udsættes for indgreb."
    out = c.ok("status", T).stdout
    assert "Risikohistorik:" in out and "udvidet" in out and "tvivl: Om borgerne udsættes for indgreb." in out


# ---------------------------------------------------------------------------------------------------
# 5. Borgerperspektivet
# ---------------------------------------------------------------------------------------------------

def test_5_interviews_record_their_form_and_replacements_their_reason(tilsyn):
    c = tilsyn
    c.ok("visit", "start", T, "--kind", "anmeldt", "--visit", "B1")
    o = json.loads(c.ok("observe", T, "2.3.1", "--source", "borger", "--method", "interview", "--text", "Tryg.",
                        "--json").stdout)
    assert o["payload"]["interview_form"] == "fysisk"  # seed 002's default, recorded
    o = json.loads(c.ok("observe", T, "2.3.1", "--source", "værge", "--method", "trianguleringsinterview",
                        "--form", "telefonisk", "--instead-of-interview", "oensker-ikke", "--text", "Værgen fortæller.",
                        "--json").stdout)
    assert o["payload"]["interview_form"] == "telefonisk"
    assert o["payload"]["instead_of_interview"] == "borgerne ønsker ikke interview"
    assert "passer ikke til metoden dokumentanalyse" in c.refused(
        "observe", T, "2.3.1", "--source", "dokumenter", "--method", "dokumentanalyse", "--form", "virtuelt",
        "--text", "Indberetninger.")
    assert "besøget 'B1' er anmeldt, ikke uanmeldt" in c.refused(
        "observe", T, "2.3.1", "--source", "borger", "--method", "observation", "--visit", "B1",
        "--instead-of-interview", "uanmeldt", "--text", "Samspil i køkkenet.")
    # Observation of samspil without saying why the borgerinterview was replaced: reported.
    c.ok("observe", T, "2.3.1", "--source", "borger", "--method", "observation", "--text", "Samspil i køkkenet.")
    (f,) = c.findings("borgerperspektiv-uden-grund")
    assert "uden at det er registreret hvorfor" in f["message"]
    s = c.status()
    obs = next(m for t in s["themes"] for x in t["criteria"] for m in x["markers"] if m["id"] == "2.3.1")["observations"]
    assert [o["interview_form"] for o in obs] == ["fysisk", "telefonisk", None]


def test_5_sources_the_seed_names_and_open_lists_where_it_says_fx(tilsyn):
    c = tilsyn
    c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
    for source in ("whistleblowerordningen", "underretning", "anden myndighed"):
        c.ok("observe", T, "2.3.1", "--source", source, "--method", "dokumentanalyse", "--text", "Oplysning modtaget.")
    # "fx pårørende, værge, handlekommune eller anden relevant professionel aktør": any relevant source, as given.
    o = json.loads(c.ok("observe", T, "2.3.1", "--source", "Kontaktperson i jobcentret", "--method",
                        "trianguleringsinterview", "--element", "2.3.1.a", "--instead-of-interview", "kan-ikke",
                        "--text", "Fortæller om borgerens trivsel.", "--json").stdout)
    assert o["payload"]["source"] == "Kontaktperson i jobcentret"
    # Where the design names its sources without "fx", the list is closed.
    assert "ukendt kilde 'Kontaktperson i jobcentret'" in c.refused(
        "observe", T, "2.3.1", "--source", "Kontaktperson i jobcentret", "--method", "interview",
        "--text", "Fortæller.")


# ---------------------------------------------------------------------------------------------------
# 6. Ikke aktuel by the tilsyn's judgement
# ---------------------------------------------------------------------------------------------------

def test_6_ikke_aktuel_by_judgement_names_the_tilbudstype_and_is_reported(tilsyn):
    c = tilsyn
    error = c.refused("assess", "marker", T, "1.1.4", "ikke-aktuel", "--reason", "Ikke relevant her.")
    assert "kræver en begrundelse, der siger, hvorfor den ikke er relevant for tilbudstypen (døgntilbud)" in error
    c.marker("1.1.4", "ikke-aktuel", "Som døgntilbud for én borger har tilbuddet ingen eksterne samarbejder.")
    (f,) = c.findings("ikke-aktuel-skoen")
    assert f["subject"] == "markør 1.1.4" and "til faglig gennemgang" in f["message"]


def test_6_a_marker_that_cannot_apply_cannot_be_til_stede(tilsyn):
    c = tilsyn
    error = c.refused("assess", "marker", T, "3.1.2", "til-stede", "--reason", "Bestyrelsen er aktiv.")
    assert "markør 3.1.2 kan ikke være til stede: tilbuddet har ingen bestyrelse" in error
    c.marker("3.1.2", "ikke-aktuel", "Tilbuddet har ingen bestyrelse.")
    assert c.findings("ikke-aktuel-skoen") == []  # the model itself says so: nothing to review


# ---------------------------------------------------------------------------------------------------
# 7. Regional standards across cycles
# ---------------------------------------------------------------------------------------------------

def _check(c, n, verdict, day, reason="Stikprøve af ti individuelle planer."):
    return json.loads(c.ok("check", T, "regional-1.3", str(n), verdict, "--reason", reason, "--occurred-at", day,
                           "--json", who=TOVE).stdout)


def test_7_monitoring_covers_indikator_5_to_8_of_its_cycle(tilsyn):
    c = tilsyn
    for n in (5, 6, 7):
        _check(c, n, "opfyldt", "2024-03-01")
    error = c.refused("monitor", T, "regional-1.3", "--date", "2024-03-10", who=TOVE)
    assert "skal omfatte indikator 5, 6, 7, 8; indikator 8 er ikke kontrolleret til og med 2024-03-10" in error
    _check(c, 8, "opfyldt", "2024-03-02")
    c.ok("monitor", T, "regional-1.3", "--date", "2024-03-10", who=TOVE)
    # The next cycle needs its own checks: those of the first cycle do not count again.
    error = c.refused("monitor", T, "regional-1.3", "--date", "2026-03-10", who=TOVE)
    assert "indikator 5, 6, 7, 8 er ikke kontrolleret mellem 2024-03-10 og 2026-03-10" in error


def test_7_trin_4_looks_at_the_latest_cycle(tilsyn):
    c = tilsyn
    for n in (5, 6, 7, 8):
        _check(c, n, "ikke opfyldt" if n == 5 else "opfyldt", "2024-03-01")
    c.ok("monitor", T, "regional-1.3", "--date", "2024-03-10", who=TOVE)
    _check(c, 9, "opfyldt", "2024-04-01", "Skriftlig plan for kvalitetsforbedring vedtaget af ledelsen.")
    assert c.findings("regional-forbedring") == []
    # Second cycle: a new shortfall in indikator 7. The old plan does not answer it.
    for n in (5, 6, 7, 8):
        _check(c, n, "ikke opfyldt" if n == 7 else "opfyldt", "2026-02-01")
    c.ok("monitor", T, "regional-1.3", "--date", "2026-02-10", who=TOVE)
    (f,) = c.findings("regional-forbedring")
    assert "indikator 7 (trin 3) er ikke opfyldt i seneste overvågningscyklus" in f["message"]
    # The trin-4 written plan may be a row of the opfølgningsplan naming the standard.
    c.ok("plan", "add", T, "--priority", "1", "--tema", "Målgruppe, metoder og resultater", "--emne",
         "Borgerne inddrages ikke i deres mål.", "--maal", "Alle planer har mål formuleret med borgeren.",
         "--hvad", "Undervisning i målarbejde.", "--hvordan", "Afsat tid på personalemøder.", "--start", "2026-02-15",
         "--slut", "2026-12-31", "--dokumentation", "Stikprøver hvert kvartal.", "--hvem", "Tove Lund",
         "--regional", "regional-1.3", who=TOVE)
    assert c.findings("regional-forbedring") == []


def test_7_scope_valid_from_and_the_latest_dated_check(tilsyn):
    c = tilsyn
    assert "før regional-1.3 gælder (gældende fra 2020-11-13)" in c.refused(
        "check", T, "regional-1.3", "1", "opfyldt", "--reason", "Retningslinjer.", "--occurred-at", "2019-05-01",
        who=TOVE)
    assert "overvågningen er dateret 2019-05-01, før regional-1.3 gælder" in c.refused(
        "monitor", T, "regional-1.3", "--date", "2019-05-01", who=TOVE)
    newer = _check(c, 1, "opfyldt", "2025-06-01")
    _check(c, 1, "ikke opfyldt", "2024-01-01")  # recorded later, but about an earlier day
    ind1 = c.status()["regional"][0]["trin"][0]["indikatorer"][0]
    assert ind1["status"] == "opfyldt" and ind1["seq"] == newer["seq"]
    # A tilbud that is not a regional, social tilbud is outside the standard's scope.
    c.ok("tilbud", "add", "K-1", "--name", "Kommunalt bosted", "--type", "døgntilbud")
    assert "gælder for «Regionale, sociale tilbud.»" in c.refused(
        "check", "K-1", "regional-1.3", "1", "opfyldt", "--reason", "Retningslinjer.", who=TOVE)


# ---------------------------------------------------------------------------------------------------
# 8. Opfølgningsplan that fits the seeds
# ---------------------------------------------------------------------------------------------------

def _row(c, priority, tema, *extra, item=None):
    return c("plan", "add", T, "--priority", str(priority), "--tema", tema, "--emne", "Ledelsen skal sikre …",
             "--maal", "At …", "--hvad", "Undervisning.", "--hvordan", "Afsat tid.", "--start", "2021-07-12",
             "--dokumentation", "Nexus.", "--hvem", "Jan Hoel", *(["--item", item] if item else []), *extra,
             who=TOVE)


def test_8_tema_is_a_theme_of_the_model_the_plan_refers_to(tilsyn):
    c = tilsyn
    assert _row(c, 1, "Sundhed og trivsel", "--slut", "2021-09-30").exit_code == 0
    assert _row(c, 2, "3 Organisation og ledelse", "--slut", "2021-09-30").exit_code == 0
    error = c.refused("plan", "add", T, "--priority", "3", "--tema", "Selvstændighed og relationer", "--emne", "E",
                      "--maal", "M", "--hvad", "H", "--hvordan", "H", "--start", "2021-07-12", "--slut", "Varig ordning",
                      "--dokumentation", "D", "--hvem", "Jan Hoel", who=TOVE)
    assert "TEMA «Selvstændighed og relationer» er ikke et tema i kvalitetsmodel-2025@2025.1" in error
    assert "--tema-standard kvalitetsmodel-foer-2025@1" in error
    # Seed 000's own row: an older model's theme, named with that model, and HVORNÅR «Varig ordning».
    out = _row(c, 3, "Selvstændighed og relationer", "--slut", "Varig ordning", "--tema-standard",
               "kvalitetsmodel-foer-2025@1")
    assert out.exit_code == 0, out.output
    (f,) = c.findings("plan-tema-aeldre-model")
    assert "svarer til tema 2 «SUNDHED OG TRIVSEL» i kvalitetsmodel-2025" in f["message"]
    assert "TEMA «Farver» er ikke et tema" in c.refused(
        "plan", "revise", T, "P1", "--tema", "Farver", "--reason", "Ny prioritering.", who=TOVE)


def test_8_a_row_lifts_a_criterion_and_answers_a_paabud_a_vilkaar_or_an_anbefaling(tilsyn, monkeypatch):
    c = tilsyn
    (c.dir / "tilsyn.toml").write_text('[settings]\n"supervision.klagevejledning" = "Kan påklages til Ankestyrelsen."\n')
    monkeypatch.chdir(c.dir)  # the operator's klagevejledning (issue 13)
    c.marker("2.3.1", "ikke-til-stede")
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
    paabud = json.loads(c.ok("decide", T, "påbud", "--criterion", "2.3", "--deadline", "2099-01-31", "--reason",
                             "Kriterium 2.3 (markør 2.3.1): tilbuddet skal forebygge magtanvendelser.",
                             "--indhold", "Forebyg magtanvendelser.", "--hjemmel", "Hjemmel",
                             "--uden-partshoering", "Testen hører ikke tilbuddet.", "--json", who=LARS).stdout)
    assert _row(c, 1, "Sundhed og trivsel", "--slut", "2098-12-31", "--answers", str(paabud["seq"]),
                "--criterion", "2.3").exit_code == 0
    out = _row(c, 2, "Organisation og ledelse", "--slut", "2098-12-31", "--anbefaling",
               "Socialtilsynet anbefaler, at ledelsen sikrer sparring for medarbejderne.", "--criterion", "3.1")
    assert out.exit_code == 0, out.output
    fields = {i["item"]: i["fields"] for i in c.status()["plan"]["items"]}
    assert fields["P1"]["criterion"] == "2.3" and fields["P1"]["answers"] == paabud["seq"]
    assert fields["P2"]["anbefaling"].startswith("Socialtilsynet anbefaler")
    assert "løfter kriterium '9.9'" in c.refused(
        "plan", "add", T, "--priority", "3", "--tema", "Kompetencer", "--emne", "E", "--maal", "M", "--hvad", "H",
        "--hvordan", "H", "--start", "2021-07-12", "--slut", "2098-12-31", "--dokumentation", "D", "--hvem", "J",
        "--criterion", "9.9", who=TOVE)


def test_8_duplicate_priorities_and_rows_past_their_end_without_result(tilsyn):
    c = tilsyn
    _row(c, 1, "Sundhed og trivsel", "--slut", "2021-09-30", item="A")
    _row(c, 1, "Kompetencer", "--slut", "Varig ordning", item="B")
    (dup,) = c.findings("plan-prioritet-dobbelt")
    assert "1. prioritet er givet til flere planpunkter (A, B)" in dup["message"]
    (late,) = c.findings("plan-uden-resultat")
    assert late["subject"] == "planpunkt A" and "sluttede 2021-09-30" in late["message"]  # B is varig: no end
    c.ok("plan", "result", T, "A", "--resultat", "Processen er slutført.", who=TOVE)
    assert c.findings("plan-uden-resultat") == []


# ---------------------------------------------------------------------------------------------------
# 9. Audit 19.1 as rules and data
# ---------------------------------------------------------------------------------------------------



def test_9_the_mapping_quotes_seed_004_and_points_at_2025_markers(tilsyn):
    mapping = default_plugins().catalog.get("kvalitetsmodel-foer-2025")
    assert [i.id for i in mapping.indikatorer] == ["8.a", "8.b", "8.c", "9.a", "9.b", "9.c", "10.a"]
    assert mapping.indikator("8.a").text == "Ledelsen har relevante kompetencer i forhold til at lede tilbuddet."
    assert mapping.indikator("8.c").maps_to == ("3.1.2",) and mapping.indikator("9.a").maps_to == ("3.2.1",)
    m = model()
    for ind in mapping.indikatorer:
        for mid in ind.maps_to:
            m.marker(mid)
        for eid in ind.elements:
            m.marker(eid.rsplit(".", 1)[0]).element(eid)
    seed = Path("/work/shared/seeds/004_716482a71b096637.txt")
    if seed.exists():  # the texts are the seed's own (PDF line breaks joined)
        text = " ".join(seed.read_text(encoding="utf-8").split())
        for ind in mapping.indikatorer:
            assert " ".join(ind.text.split()) in text, ind.id
    # Trends across model versions: each 2025 marker names the older indikatorer that map to it.
    s = tilsyn.status()
    row = next(x for t in s["themes"] for cr in t["criteria"] for x in cr["markers"] if x["id"] == "3.2.1")
    assert [e["indikator"] for e in row["earlier"]] == ["9.a", "9.b", "9.c"]
    assert "Indikator 8.a" in tilsyn.ok("standards", "show", "kvalitetsmodel-foer-2025").stdout


def test_9_audit_lessons_as_findings(tilsyn):
    c = tilsyn
    c.ok("tilbud", "add", "P-1", "--name", "Fonden Egebo", "--type", "døgntilbud", "--board")
    global T
    old, T = T, "P-1"
    try:
        c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
        c.ok("observe", T, "3.1.1", "--source", "tilbudsportalen", "--method", "dokumentanalyse", "--text", "CV.")
        c.ok("observe", T, "3.1.1", "--source", "medarbejder", "--method", "interview", "--element", "3.1.1.c",
             "--text", "Medarbejderne har supervision hver måned.")
        c.marker("3.1.1", "til-stede")
        (sup,) = c.findings("audit-19.1-supervision")
        assert "ikke belyst hos ledelse" in sup["message"] and "8.b" in sup["message"]
        c.ok("observe", T, "3.1.1", "--source", "ledelse", "--method", "interview", "--element", "3.1.1.c",
             "--text", "Lederen har ekstern sparring.")
        assert c.findings("audit-19.1-supervision") == []
        c.ok("observe", T, "3.1.2", "--source", "dokumenter", "--method", "dokumentanalyse", "--text", "Vedtægter.")
        c.marker("3.1.2", "til-stede", "Vedtægterne foreligger.")
        (tri,) = c.findings("audit-19.1-triangulering")
        assert tri["subject"] == "markør 3.1.2" and "også ved en positiv vurdering" in tri["message"]
        (board,) = c.findings("audit-19.1-bestyrelse")
        assert "bestyrelsens sammensætning og om bestyrelsen er aktiv" in board["message"]
        c.marker("3.1.2", "til-stede", "Bestyrelsen er bredt sammensat og holder de fire møder, vedtægterne kræver.")
        assert c.findings("audit-19.1-bestyrelse") == []
    finally:
        T = old


# ---------------------------------------------------------------------------------------------------
# 10. Danish that a tilsyn would sign
# ---------------------------------------------------------------------------------------------------

def test_10_danish_of_refusals_explain_and_the_demo(tilsyn, tmp_path):
    from tilsyn.standards.danish import count_of, way, with_article

    assert with_article("godkendelse med vilkår") == "en godkendelse med vilkår" and with_article("påbud") == "et påbud"
    assert way("trianguleringsinterview", "pårørende") == "trianguleringsinterview med pårørende"
    assert count_of(1, 1, "indikator", "indikatorer") == "1 af 1 indikator"
    assert count_of(2, 3, "indikator", "indikatorer") == "2 af 3 indikatorer"
    c = tilsyn
    # A vilkår on a criterion that is not ikke opfyldt: "en godkendelse", not "et godkendelse".
    c.ok("tilbud", "add", "T-8", "--name", "Ansøgeren", "--type", "døgntilbud")  # an ansøger (issue 13)
    before = c.count()
    r = c("decide", "T-8", "godkendelse-med-vilkår", "--criterion", "1.1", "--reason", "Vilkår for 1.1.",
          "--indhold", "Vilkår.", "--hjemmel", "H", "--uden-partshoering", "Test.", who=LARS)
    assert r.exit_code == 2 and c.count() == before
    error = r.stderr
    assert "en godkendelse med vilkår kræver" in error and "et godkendelse" not in error
    # plan approve with no rows: a Danish sentence, not a schema error.
    error = c.refused("plan", "approve", T, who=TOVE)
    assert "opfølgningsplanen for T-7 har ingen punkter at godkende" in error and "plan_revision" not in error
    # Design coverage names a trianguleringsinterview "med" its source.
    c.ok("visit", "start", T)  # observations belong to a visit (issue 13 item 7)
    c.ok("observe", T, "1.1.3", "--source", "medarbejder", "--method", "interview", "--text", "Mål følges.")
    c.marker("1.1.3", "til-stede")
    messages = " ".join(f["message"] for f in c.findings("undersoegelsesdesign"))
    assert "trianguleringsinterview med pårørende" in messages and "trianguleringsinterview af" not in messages

    from tilsyn.cli.demo import run_demo

    demo = tmp_path / "demo"
    assert run_demo(demo).ok
    env = {"TILSYN_DB": str(demo / "tilsyn.db"), "TILSYN_HOME": str(demo)}
    out = CliRunner().invoke(cli, ["--as", KAREN, "explain", "T-1001"], env=env).output
    later = out[out.index("Siden da"):]
    assert "planpunkt, der besvarer afgørelsen: planpunkt P1, godkendt af tilbudslederen" in later
    assert "planpunkt konsekvensrettet: planpunkt P2: HVORNÅR? (slut) → 2027-01-15" in later
    assert "{" not in later and "plan row" not in later and "approved" not in later
    assert "Alle signaturer er gyldige; alle hændelser er dækket af kontrolpunktet" in out
    # The demo quotes marker 2.3.2 by its title in seed 002.
    s = json.loads(CliRunner().invoke(cli, ["--as", KAREN, "status", "T-1001", "--json"], env=env).output)
    reason = next(c for t in s["themes"] for c in t["criteria"] if c["id"] == "2.3")["decided"]["reason"]
    assert model().marker("2.3.2").title.lower() in reason.lower()


# ---------------------------------------------------------------------------------------------------
# 11. The rules are part of verification
# ---------------------------------------------------------------------------------------------------

def _append_past_the_guards(c: Cli, type_: str, payload: dict, who: str = KAREN, versions: dict | None = None):
    """Append through the kernel API with a valid key, as an insider could: no guard runs. ``versions``:
    plugin versions the appending installation claims (then recorded as the rules in force first)."""
    plugins = default_plugins()
    keystore = KeyStore(c.dir)
    policy = plugins.policy()
    if versions is not None:
        policy.set_components(**dict(policy.components, plugins=versions))
    ledger = Ledger.open(str(c.db), policy)
    try:
        with ledger:
            signer = ledger.signer(who, keystore)
            stream = f"tilbud/{T}"
            stmt = ledger.statement(signer, stream, type_, payload, stream_version=ledger.stream_version(stream) + 1)
            (event,) = ledger.append([signer.sign(stmt)])
            return event.seq
    finally:
        ledger.close()


def test_11_verify_rules_reports_every_event_a_guard_would_have_refused(tilsyn):
    c = tilsyn
    c.marker("2.3.1", "ikke-til-stede")
    clean = c.ok("verify", "--rules")
    assert "ingen ville være afvist" in clean.stdout
    model_ref = {"standard": "kvalitetsmodel-2025", "standard_version": "2025.1"}
    bad1 = _append_past_the_guards(c, "kvalitetsmodel.CriterionAssessed/1", {
        "criterion": "2.3", "verdict": "opfyldt", "reason": named("2.3"), **model_ref})
    bad2 = _append_past_the_guards(c, "kvalitetsmodel.MarkerAssessed/1", {
        "marker": "3.1.2", "verdict": "til stede", "reason": "Bestyrelsen er aktiv.", **model_ref})
    # The bytes, signatures and chain are sound: plain verify passes ...
    assert c("verify").exit_code == 0
    # ... but the rules in force would have refused both events.
    r = c("verify", "--rules")
    assert r.exit_code == 1
    assert f"seq {bad1} (tilbud/{T}, kvalitetsmodel.CriterionAssessed/1): kvalitetsmodel/opfyldt-uden-fravaerende-markoer" \
        in r.stderr
    assert f"seq {bad2} (tilbud/{T}, kvalitetsmodel.MarkerAssessed/1): kvalitetsmodel/ikke-aktuel" in r.stderr
    report = json.loads(c("verify", "--rules", "--json").stdout)["rules"]
    assert [(b["seq"], b["rule"]) for b in report["breaches"]] == [
        (bad1, "opfyldt-uden-fravaerende-markoer"), (bad2, "ikke-aktuel")]
    # And the projection no longer believes the insider: 2.3 stands opfyldt on an absent marker, so it is stale.
    assert c.status()["fornoeden_kvalitet"]["value"] is False


def test_11_a_recorded_rule_version_that_differs_is_not_replayed_silently(tilsyn):
    c = tilsyn
    c.marker("2.3.1", "ikke-til-stede")
    c.criterion("2.3", "ikke-opfyldt", named("2.3", {"2.3.1": "ikke til stede"}))
    old = dict(default_plugins().versions(), kvalitetsmodel="0.9.0")
    _append_past_the_guards(c, "tilsyn.DecisionIssued/1", {
        "kind": "påbud", "criteria": ["2.3"], "reason": "Påbud under ældre regler, kriterium 2.3 (markør 2.3.1).",
        "deadline": "2099-01-01", "indhold": "Ret op.", "hjemmel": "H", "uden_partshoering": "Test.",
        "klagevejledning": "Kan påklages til Ankestyrelsen.",
        "standard": "kvalitetsmodel-2025", "standard_version": "2025.1", "rule_versions": old}, who=LARS)
    # The ledger's own record of the rules in force (ledger.RulesInForce/1) outranks a decision's note
    # of them: the appending installation ran kvalitetsmodel 0.9.0, and the ledger recorded so first.
    seq = _append_past_the_guards(c, "kvalitetsmodel.CriterionAssessed/1", {
        "criterion": "1.1", "verdict": "opfyldt", "reason": named("1.1"),
        "standard": "kvalitetsmodel-2025", "standard_version": "2025.1"}, versions=old)
    report = json.loads(c("verify", "--rules", "--json").stdout)["rules"]
    assert report["breaches"] == []  # its guards were not those installed: not judged by them ...
    (skipped,) = [n for n in report["not_replayed"] if n["seq"] == seq]  # ... but said so
    assert "plugin kvalitetsmodel var version 0.9.0 ved hændelsen" in skipped["reason"]


def test_10_one_indikator_is_singular_in_the_report():
    from tilsyn.cli.documents import environment

    page = environment().from_string('{% import "_macros.html" as m %}{% include "_regional.html" %}')
    trin = lambda n, done: {"number": 1, "title": "Trin", "cadence_years": None, "done": done,  # noqa: E731
                            "indikatorer": [{"number": i, "text": "Krav", "contents": [], "status": None,
                                             "reason": None, "checked_at": None, "actor": None} for i in range(n)]}
    r = {"number": "1.3", "title": "Individuelle planer", "valid_from": "2020-11-13", "last_monitoring": None,
         "trin": [trin(1, 1), trin(3, 2)]}
    html = page.render(r=r)
    assert "1 af 1 indikator opfyldt" in html and "2 af 3 indikatorer opfyldt" in html
    assert "1 af 1 indikatorer" not in html


def test_11_an_event_under_a_standard_version_not_installed_is_not_judged_by_other_rules(tilsyn):
    c = tilsyn
    seq = _append_past_the_guards(c, "kvalitetsmodel.MarkerAssessed/1", {
        "marker": "2.3.1", "verdict": "til stede", "reason": "Vurderet under en ældre udgave.",
        "standard": "kvalitetsmodel-2025", "standard_version": "2024.9"})
    report = json.loads(c("verify", "--rules", "--json").stdout)["rules"]
    assert report["breaches"] == []
    (n,) = [x for x in report["not_replayed"] if x["seq"] == seq]
    assert "version 2024.9" in n["reason"] and "ikke installeret" in n["reason"]
