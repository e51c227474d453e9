"""Issue 13 through the CLI contract: the afgørelse as a legal act and a tilbud with a legal life.

One scenario per rule, typed as a tilsynsleder, a konsulent or a tilbudsleder would type it. Every refusal
exits 2 with one Danish ``tilsyn: error:`` line and leaves the ledger unchanged. The operator's legal texts
come from the test's own tilsyn.toml (the klagevejledning names Ankestyrelsen, as DOMAIN.md does; the
hjemmel is a placeholder the test invents for itself, not a legal reference).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tilsyn.cli.main import cli
from tilsyn.ledger import KeyStore, Ledger
from tilsyn.plugins.manager import default_plugins

KAREN, ULLA, LARS, TOVE = "Karen Holm", "Ulla Bak", "Lars Berg", "Tove Lund"
T, A = "T-9", "A-1"  # an approved tilbud and an applicant
KLAGE = "Afgørelsen kan påklages til Ankestyrelsen."
HJEMMEL = "Testhjemmel A"


def later(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def named(criterion: str, verdicts: dict[str, str]) -> str:
    model = default_plugins().catalog.get("kvalitetsmodel-2025")
    parts = [f"Markør {m.id} er {verdicts.get(m.id, 'til stede')}." for m in model.criterion(criterion).markers]
    return " ".join(parts) + " Borgere og medarbejdere bekræfter det samstemmende ved interview."


BEGRUNDELSE = ("Kriterium 2.3 er ikke opfyldt, fordi markør 2.3.1 ikke er til stede: borgernes døre låses. "
               "Kvalitetsmodellen kræver alle kriterier opfyldt; hensynet til borgernes selvbestemmelse vejer tungest.")


class Cli:
    def __init__(self, tmp_path: Path):
        self.dir, self.db = tmp_path, tmp_path / "tilsyn.db"
        self.env = {"TILSYN_DB": str(self.db), "TILSYN_HOME": str(tmp_path), "TILSYN_ACTOR": None,
                    "TILSYN_PASSPHRASE": None}

    def __call__(self, *args: str, who: str = KAREN):
        return CliRunner().invoke(cli, ["--as", who, *args], env=self.env, catch_exceptions=False)

    def ok(self, *args: str, who: str = KAREN) -> dict:
        r = self(*args, "--json", who=who)
        assert r.exit_code == 0, f"{args}: exit {r.exit_code}: {r.output}"
        return json.loads(r.stdout)

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

    def status(self, tilbud: str = T) -> dict:
        return self.ok("status", tilbud)

    def findings(self, rule: str, tilbud: str = T) -> list[dict]:
        r = self("findings", tilbud, "--json")
        return [f for f in json.loads(r.stdout)[tilbud] if f["rule"] == rule]

    # -- acts in domain words
    def fail_23(self, tilbud: str = T) -> None:
        self.ok("assess", "marker", tilbud, "2.3.1", "ikke-til-stede", "--reason", "Dørene låses om aftenen.")
        self.ok("assess", "criterion", tilbud, "2.3", "ikke-opfyldt", "--reason", named("2.3", {"2.3.1": "ikke til stede"}))

    def pass_23(self, tilbud: str = T) -> dict:
        self.ok("assess", "marker", tilbud, "2.3.1", "til-stede", "--reason", "Dørene er åbne; borgerne har nøgler.")
        self.ok("assess", "marker", tilbud, "2.3.2", "til-stede", "--reason", "Indberetningerne følges op.")
        return self.ok("assess", "criterion", tilbud, "2.3", "opfyldt", "--reason", named("2.3", {}))

    def varsel(self, kind: str = "påbud", tilbud: str = T, frist: str | None = None, *extra: str) -> dict:
        return self.ok("varsel", tilbud, kind, "--criterion", "2.3", "--indhold", "Tilbuddet skal ophøre med at låse døre.",
                       "--deadline", frist or later(60), "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE,
                       "--hoeringsfrist", later(7), *extra, who=LARS)

    def heard(self, varsel: dict, tilbud: str = T) -> dict:
        return self.ok("hoering", tilbud, str(varsel["seq"]), "--text", "Vi er uenige, men retter op.", who=TOVE)

    def decide(self, varsel: dict, tilbud: str = T, kind: str = "påbud", *extra: str) -> dict:
        return self.ok("decide", tilbud, kind, "--varsel", str(varsel["seq"]), "--reason", BEGRUNDELSE,
                       "--hoering-afvejning", "Svaret ændrer ikke, at kriteriet ikke er opfyldt.", *extra, who=LARS)

    def paabud(self, tilbud: str = T) -> dict:
        v = self.varsel("påbud", tilbud)
        self.heard(v, tilbud)
        return self.decide(v, tilbud)


@pytest.fixture
def tilsyn(tmp_path, monkeypatch) -> Cli:
    plugins = default_plugins()
    keystore = KeyStore(tmp_path)
    ledger, authority = Ledger.init(str(tmp_path / "tilsyn.db"), "Socialtilsyn Øst", keystore, policy=plugins.policy())
    with ledger:
        for name, role in ((KAREN, "tilsynskonsulent"), (ULLA, "tilsynskonsulent"), (LARS, "tilsynsleder"),
                           (TOVE, "tilbudsleder")):
            ledger.register_key(authority, name, [role], keystore)
    (tmp_path / "tilsyn.toml").write_text(f'[settings]\n"supervision.klagevejledning" = "{KLAGE}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    c = Cli(tmp_path)
    c.ok("tilbud", "add", T, "--name", "Bostedet Kastanjen", "--type", "døgntilbud", "--godkendt", "2019-06-01",
         "--pladser", "12", "--målgruppe", "Voksne med udviklingshæmning", "--cvr", "12345678",
         "--afdeling", "Kastanjen", "--occurred-at", "2020-01-02")
    c.ok("tilbud", "add", A, "--name", "Nyt Bosted", "--type", "døgntilbud", "--occurred-at", "2020-01-02")
    return c


# 1. Tilbud with a legal status ------------------------------------------------------------------------

def test_1_master_data_and_status_at_registration(tilsyn):
    c = tilsyn
    legal = c.status()["legal"]
    assert legal["status"] == "godkendt" and legal["godkendt_dato"] == "2019-06-01"
    assert legal["master"] == {"maalgruppe": "Voksne med udviklingshæmning", "pladser": 12, "cvr": "12345678",
                               "afdelinger": ["Kastanjen"]}
    assert c.status(A)["legal"]["status"] == "ansøger"
    assert "godkendelsens dato" in c.refused("tilbud", "add", "X-1", "--name", "X", "--type", "døgntilbud",
                                             "--godkendt", "2030-01-01", "--occurred-at", "2025-01-01")
    assert "cvr" in c.refused("tilbud", "add", "X-2", "--name", "X", "--type", "døgntilbud", "--cvr", "12")
    text = c("status", T).stdout
    assert "Status: godkendt (registreret som godkendt 2019-06-01)" in text and "målgruppe: Voksne" in text


def test_1_status_changes_only_through_decisions(tilsyn):
    c = tilsyn
    c.fail_23(A)
    v = c.varsel("godkendelse med vilkår", A)
    c.heard(v, A)
    d = c.decide(v, A, "godkendelse med vilkår")
    assert c.status(A)["legal"]["status"] == "godkendt med vilkår"
    c.pass_23(A)
    c.ok("decision", "fulfil", A, str(d["seq"]), "--reason", "Vilkåret er opfyldt ved ny vurdering.", who=LARS)
    assert c.status(A)["legal"]["status"] == "godkendt"


def test_1_a_plain_godkendelse_needs_fornoeden_kvalitet(tilsyn):
    c = tilsyn
    error = c.refused("decide", A, "godkendelse", "--reason", "Godkendes.", "--indhold", "Godkendt til 12 pladser.",
                      "--hjemmel", HJEMMEL, who=LARS)
    assert "en godkendelse kræver fornøden kvalitet" in error


# 2. Decision kinds follow the status; incompatible open decisions refused --------------------------------

def test_2_kinds_follow_the_status(tilsyn):
    c = tilsyn
    c.fail_23(A)
    c.fail_23()
    assert "påbud er ikke en afgørelse for en ansøger" in c.refused(
        "varsel", A, "påbud", "--criterion", "2.3", "--indhold", "I", "--deadline", later(60), "--hjemmel", HJEMMEL,
        "--reason", BEGRUNDELSE, "--hoeringsfrist", later(7), who=LARS)
    assert "afslag er ikke en afgørelse for et godkendt tilbud" in c.refused(
        "decide", T, "afslag", "--criterion", "2.3", "--indhold", "I", "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE,
        "--uden-partshoering", "Haster.", who=LARS)


def test_2_incompatible_open_decisions_are_refused(tilsyn):
    c = tilsyn
    c.fail_23()
    first = c.paabud()
    # Not even the varsel of a second påbud on the same criterion.
    assert "pålægger allerede det samme for kriterium 2.3" in c.refused(
        "varsel", T, "påbud", "--criterion", "2.3", "--indhold", "I", "--deadline", later(60), "--hjemmel", HJEMMEL,
        "--reason", BEGRUNDELSE, "--hoeringsfrist", later(7), who=LARS)
    assert "pålægger allerede det samme for kriterium 2.3" in c.refused(
        "decide", T, "skærpet-tilsyn-med-påbud", "--criterion", "2.3", "--deadline", later(60), "--indhold", "I",
        "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, "--uden-partshoering", "Haster.", who=LARS)
    assert "ophør af godkendelsen kræver, at de åbne afgørelser først afsluttes" in c.refused(
        "decide", T, "ophør", "--criterion", "2.3", "--indhold", "Ophør.", "--hjemmel", HJEMMEL, "--reason",
        BEGRUNDELSE, "--uden-partshoering", "Borgernes sikkerhed.", who=LARS)
    c.ok("decision", "lift", T, str(first["seq"]), "--reason", "Erstattes af ophør.", who=LARS)
    c.ok("decide", T, "ophør", "--criterion", "2.3", "--indhold", "Godkendelsen ophører.", "--hjemmel", HJEMMEL,
         "--reason", BEGRUNDELSE, "--uden-partshoering", "Borgernes sikkerhed kan ikke vente.", who=LARS)
    assert c.status()["legal"]["status"] == "ophørt"
    assert "tilbuddet er ophørt" in c.refused(
        "decide", T, "skærpet-tilsyn", "--criterion", "2.3", "--indhold", "I", "--hjemmel", HJEMMEL, "--reason",
        BEGRUNDELSE, "--uden-partshoering", "Haster.", who=LARS)


def test_2_a_correction_cannot_leave_an_unlawful_course(tilsyn):
    c = tilsyn
    c.fail_23(A)
    v = c.varsel("godkendelse med vilkår", A)
    c.heard(v, A)
    d = c.decide(v, A, "godkendelse med vilkår")
    # Withdrawing the vilkår would leave nothing that made the tilbud approved; then a påbud would be unlawful.
    pb = c.ok("decide", A, "påbud", "--criterion", "2.3", "--indhold", "Ret op.", "--deadline", later(60),
              "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, "--uden-partshoering", "Haster.", who=LARS)
    error = c.refused("correct", A, str(d["seq"]), "--reason", "Fejlregistreret.", who=LARS)
    assert "ulovligt forløb" in error and f"påbud (seq {pb['seq']})" in error


# 3. Partshøring -----------------------------------------------------------------------------------------

def test_3_a_bebyrdende_decision_needs_varsel_or_a_reason_why_not(tilsyn):
    c = tilsyn
    c.fail_23()
    assert "giv først varsel" in c.refused(
        "decide", T, "påbud", "--criterion", "2.3", "--deadline", later(60), "--indhold", "I", "--hjemmel", HJEMMEL,
        "--reason", BEGRUNDELSE, who=LARS)
    d = c.ok("decide", T, "påbud", "--criterion", "2.3", "--deadline", later(60), "--indhold", "I", "--hjemmel",
             HJEMMEL, "--reason", BEGRUNDELSE, "--uden-partshøring", "Borgerne er i fare.", who=LARS)
    (f,) = c.findings("uden-partshoering")
    assert f["seqs"] == [d["seq"]] and "Borgerne er i fare." in f["message"]


def test_3_the_decision_waits_for_the_hoeringsfrist_or_the_hoeringssvar(tilsyn):
    c = tilsyn
    c.fail_23()
    v = c.varsel()
    assert f"høringsfristen {later(7)} er ikke udløbet" in c.refused(
        "decide", T, "påbud", "--varsel", str(v["seq"]), "--reason", BEGRUNDELSE, who=LARS)
    # A konsulent records an answer given by phone only on the tilbud's behalf, saying so.
    assert "på tilbuddets vegne" in c.refused("høring", T, str(v["seq"]), "--text", "Svar i telefonen.", who=KAREN)
    svar = c.ok("hoering", T, str(v["seq"]), "--text", "Svar i telefonen.", "--på-vegne-af", who=KAREN)
    assert svar["payload"]["on_behalf"] is True
    assert "hvordan det er indgået" in c.refused(
        "decide", T, "påbud", "--varsel", str(v["seq"]), "--reason", BEGRUNDELSE, who=LARS)
    d = c.decide(v)
    assert "afgørelsen på varslet er allerede truffet" in c.refused("hoering", T, str(v["seq"]), "--text", "For sent.",
                                                                  who=TOVE)
    c.ok("decision", "lift", T, str(d["seq"]), "--reason", "Ophævet for at prøve varslet igen.", who=LARS)
    assert f"varslet (seq {v['seq']}) er allerede brugt" in c.refused(
        "decide", T, "påbud", "--varsel", str(v["seq"]), "--reason", BEGRUNDELSE, "--hoering-afvejning", "x", who=LARS)
    row = next(x for x in c.status()["decisions"] if x["seq"] == d["seq"])
    assert row["varsel"]["seq"] == v["seq"] and row["varsel"]["svar"][0]["on_behalf"] is True
    assert row["indhold"] == "Tilbuddet skal ophøre med at låse døre." and row["hjemmel"] == HJEMMEL


def test_3_the_decision_rests_only_on_what_was_varslet(tilsyn):
    c = tilsyn
    c.fail_23()
    v = c.varsel("skærpet tilsyn")
    c.heard(v)
    assert "varslet" in c.refused("decide", T, "påbud", "--varsel", str(v["seq"]), "--deadline", later(60),
                                  "--reason", BEGRUNDELSE, "--hoering-afvejning", "x", who=LARS)


# 4. What the decision says --------------------------------------------------------------------------------

def test_4_indhold_hjemmel_begrundelse_and_klagevejledning(tilsyn, tmp_path):
    c = tilsyn
    c.fail_23()
    base = ["decide", T, "påbud", "--criterion", "2.3", "--deadline", later(60), "--uden-partshoering", "Haster."]
    assert "indhold" in c.refused(*base, "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, who=LARS)
    assert "hjemmel" in c.refused(*base, "--indhold", "I", "--reason", BEGRUNDELSE, who=LARS)
    # «Ret.» names no criterion: not a begrundelse under fvl § 24, however long or short.
    assert "begrundelsen skal nævne kriterium 2.3" in c.refused(*base, "--indhold", "I", "--hjemmel", HJEMMEL,
                                                                "--reason", "Ret.", who=LARS)
    assert "begrundelsen skal nævne markør 2.3.1" in c.refused(*base, "--indhold", "I", "--hjemmel", HJEMMEL,
                                                               "--reason", "Kriterium 2.3 er ikke opfyldt.", who=LARS)
    # Blank after trimming is no text.
    assert "er tomt" in c.refused(*base, "--indhold", "   ", "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, who=LARS)
    # Once the operator ships a hjemmel list, a decision must cite it.
    (tmp_path / "hjemler.yaml").write_text('hjemler:\n  - hjemmel: "Testhjemmel B"\n    afgoerelser: ["påbud"]\n',
                                           encoding="utf-8")
    (tmp_path / "tilsyn.toml").write_text(f'[settings]\n"supervision.klagevejledning" = "{KLAGE}"\n'
                                          f'"supervision.hjemler_fil" = "{tmp_path / "hjemler.yaml"}"\n', encoding="utf-8")
    assert "står ikke på hjemmelslisten for påbud" in c.refused(*base, "--indhold", "I", "--hjemmel", HJEMMEL,
                                                                 "--reason", BEGRUNDELSE, who=LARS)
    d = c.ok(*base, "--indhold", "I", "--hjemmel", "Testhjemmel B", "--reason", BEGRUNDELSE, who=LARS)
    assert d["payload"]["klagevejledning"] == KLAGE
    # Without the operator's klagevejledning, no decision.
    (tmp_path / "tilsyn.toml").write_text("[settings]\n", encoding="utf-8")
    c.ok("decision", "lift", T, str(d["seq"]), "--reason", "Prøve.", who=LARS)
    assert "mangler klagevejledning" in c.refused(*base, "--indhold", "I", "--hjemmel", HJEMMEL, "--reason",
                                                  BEGRUNDELSE, who=LARS)


def test_4_a_frist_leaves_reasonable_time_unless_the_decision_says_why(tilsyn):
    c = tilsyn
    c.fail_23()
    base = ["decide", T, "påbud", "--criterion", "2.3", "--indhold", "I", "--hjemmel", HJEMMEL, "--reason",
            BEGRUNDELSE, "--uden-partshoering", "Haster."]
    assert "en rimelig frist er mindst 14 dage" in c.refused(*base, "--deadline", later(1), who=LARS)
    d = c.ok(*base, "--deadline", later(1), "--frist-begrundelse", "Borgerne er låst inde; det skal ophøre straks.",
             who=LARS)
    assert d["payload"]["frist_begrundelse"].startswith("Borgerne")


# 5. Follow-up owned by the tilsyn ---------------------------------------------------------------------------

def test_5_only_the_tilsynsleder_extends_and_a_passed_frist_is_serious(tilsyn):
    c = tilsyn
    c.fail_23()
    d = c.paabud()
    assert "Tove Lund (tilbudsleder) kan ikke registrere «frist forlænget»" in c.refused(
        "decision", "extend", T, str(d["seq"]), "--deadline", later(90), "--reason", "Mere tid.", who=TOVE)
    assert "skal ligge efter den nuværende" in c.refused("decision", "extend", T, str(d["seq"]), "--deadline",
                                                        later(30), "--reason", "Kortere.", who=LARS)
    c.ok("decision", "extend", T, str(d["seq"]), "--deadline", later(90), "--reason", "Planen er realistisk.", who=LARS)
    row = next(x for x in c.status()["decisions"] if x["seq"] == d["seq"])
    assert row["frist"] == later(90) and row["extensions"][0]["previous"] == later(60)


def test_5_fulfilled_needs_a_newer_assessment_with_every_criterion_opfyldt(tilsyn):
    c = tilsyn
    c.fail_23()
    d = c.paabud()
    assert "kan først efterkommes" in c.refused("decision", "fulfil", T, str(d["seq"]), "--reason", "OK.", who=LARS)
    c.pass_23()
    c.ok("decision", "fulfil", T, str(d["seq"]), "--reason", "Ny vurdering viser 2.3 opfyldt.", who=LARS)


def test_5_anbefalinger_are_answered_by_plan_rows(tilsyn):
    c = tilsyn
    a = c.ok("anbefal", T, "--criterion", "3.1", "--text", "Socialtilsynet anbefaler ekstern supervision.")
    assert "ukendt kvalitetskriterium" in c.refused("anbefal", T, "--criterion", "9.9", "--text", "x")
    c.ok("plan", "add", T, "--priority", "1", "--tema", "Organisation og ledelse", "--emne", "Supervision",
         "--maal", "Ekstern supervision", "--hvad", "Aftale med supervisor", "--hvordan", "Budget",
         "--start", later(1), "--slut", later(90), "--dokumentation", "Referater", "--hvem", "Tove",
         "--answers", str(a["seq"]), who=TOVE)
    assert c.status()["legal"]["anbefalinger"][0]["seq"] == a["seq"]


# 6. Corrections and genoptagelse ----------------------------------------------------------------------------

def test_6_a_corrected_basis_asks_for_genoptagelse_until_the_tilsynsleder_confirms(tilsyn):
    c = tilsyn
    c.fail_23()
    d = c.paabud()
    verdict = next(x for x in c.status()["decisions"] if x["seq"] == d["seq"])["basis"]["2.3"]
    assert "intet at genoptage" in c.refused("decision", "confirm", T, str(d["seq"]), "--reason", "x", who=LARS)
    # The konsulent has left: a tilsynsleder corrects the verdict, with a reason; a colleague may not.
    assert "eller en tilsynsleder kan rette den" in c.refused("correct", T, str(verdict), "--reason", "x", who=ULLA)
    c.ok("correct", T, str(verdict), "--reason", "Vurderingen byggede på det forkerte tilbud.", who=LARS)
    (f,) = c.findings("genoptagelse")
    assert f["severity"] == "alvorlig" and d["seq"] in f["seqs"]
    c.ok("decision", "confirm", T, str(d["seq"]), "--reason", "Observationerne bærer afgørelsen alene.", who=LARS)
    assert c.findings("genoptagelse") == []


# 7. Time that makes sense ------------------------------------------------------------------------------------

def test_7_times_in_order(tilsyn):
    c = tilsyn
    why = "Dørene låses om aftenen."
    assert "i fremtiden" in c.refused("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", why,
                                      "--occurred-at", later(2))
    assert "før tilbuddet blev registreret" in c.refused("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason",
                                                          why, "--occurred-at", "2019-01-01")
    c.ok("visit", "start", T, "--visit", "B1", "--occurred-at", "2024-05-02T10:00:00Z")
    assert "før det begyndte" in c.refused("visit", "complete", T, "--occurred-at", "2024-05-02T09:00:00Z")
    c.fail_23()
    # A decision dated before the assessment it rests on.
    assert "ligger før vurderingen af kriterium 2.3" in c.refused(
        "decide", T, "påbud", "--criterion", "2.3", "--deadline", later(60), "--indhold", "I", "--hjemmel", HJEMMEL,
        "--reason", BEGRUNDELSE, "--uden-partshoering", "Haster.", "--occurred-at", "2024-06-01", who=LARS)


def test_7_observations_belong_to_a_visit(tilsyn):
    c = tilsyn
    obs = ["observe", T, "2.3.1", "--source", "borger", "--method", "interview", "--text"]
    # No visit at all: not an observation the design can rest on (last session this was accepted).
    assert "intet besøg er i gang" in c.refused(*obs, "Ved et tilfælde hørt.")
    assert "skal nævne det besøg" in c.refused(*obs, "Bagefter.", "--efterfølgende")
    assert "ukendt besøg 'B9'" in c.refused(*obs, "x", "--visit", "B9")
    started = c.ok("visit", "start", T, "--visit", "B1", "--deltager", "Tove Lund (tilbudsleder)", "--deltager", "2 borgere")
    assert started["payload"]["participants"] == ["Tove Lund (tilbudsleder)", "2 borgere"]
    assert "er tomt" in c.refused("visit", "start", T, "--visit", "B0", "--deltager", "  ")
    assert "er tomt" in c.refused(*obs, "   \t ")
    assert c.ok(*obs, "På besøget.")["payload"]["visit"] == "B1"  # the visit in progress, signed into it
    c.ok("visit", "start", T, "--visit", "B1b")
    assert "flere besøg i gang (B1, B1b)" in c.refused(*obs, "Hvilket besøg?")
    c.ok("visit", "abort", T, "--visit", "B1b", "--reason", "Startet ved en fejl.")
    c.ok("visit", "complete", T, "--visit", "B1")
    assert "intet besøg er i gang" in c.refused(*obs, "Senere.")
    assert "--efterfoelgende" in c.refused(*obs, "Senere.", "--visit", "B1")
    late = c.ok(*obs, "Indsamlet bagefter med samme metode.", "--visit", "B1", "--efterfølgende")
    assert late["payload"]["visit"] == "B1" and late["payload"]["efterfoelgende"] is True
    c.ok("visit", "start", T, "--visit", "B2")
    c.ok("visit", "abort", T, "--visit", "B2", "--reason", "Borgerne var ikke hjemme.")
    assert "er afbrudt" in c.refused(*obs, "Efter afbrydelsen.", "--visit", "B2")
    assert "er afbrudt" in c.refused(*obs, "Efter afbrydelsen.", "--visit", "B2", "--efterfølgende")
    history = c("history", T).stdout
    assert "visit=B1 " in history and "Indsamlet bagefter" in history


def test_7_an_import_without_a_visit_is_refused_as_a_whole(tilsyn, tmp_path):
    c = tilsyn
    batch = tmp_path / "besoeg.toml"
    batch.write_text(f'''tilbud = "{T}"
actor = "{KAREN}"
[[event]]
type = "observation"
marker = "2.3.1"
source = "borger"
method = "interview"
text = "Uden besøg."
[[event]]
type = "visit-started"
visit = "B1"
kind = "uanmeldt"
''', encoding="utf-8")
    assert "intet besøg er i gang" in c.refused("import", str(batch))


def test_7_acts_are_not_dated_before_what_they_answer_or_rest_on(tilsyn):
    c = tilsyn
    c.ok("visit", "start", T, "--visit", "B1", "--occurred-at", "2024-05-02T08:00:00Z")
    c.ok("visit", "complete", T, "--occurred-at", "2024-05-02T12:00:00Z")
    c.ok("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", "Dørene låses.", "--occurred-at",
         "2024-05-03T08:00:00Z")
    c.ok("assess", "criterion", T, "2.3", "ikke-opfyldt", "--reason", named("2.3", {"2.3.1": "ikke til stede"}),
         "--occurred-at", "2024-05-03T09:00:00Z")
    # A marker re-assessed later: a decision backdated before it would rest on what it could not know.
    c.ok("assess", "marker", T, "2.3.2", "til-stede", "--reason", "Indberetninger følges op.", "--occurred-at",
         "2024-05-04T08:00:00Z")
    v = c.ok("varsel", T, "påbud", "--criterion", "2.3", "--indhold", "Ophør med at låse døre.", "--deadline",
             "2024-08-01", "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, "--hoeringsfrist", "2024-05-20",
             "--occurred-at", "2024-05-06T08:00:00Z", who=LARS)
    assert ("høringssvaret er dateret 1. maj 2024 kl. 10.00 (CEST), før varslet seq "
            f"{v['seq']} (6. maj 2024 kl. 10.00 (CEST))") in c.refused(
        "hoering", T, str(v["seq"]), "--text", "Vi retter op.", "--occurred-at", "2024-05-01T08:00:00Z", who=TOVE)
    svar = c.ok("hoering", T, str(v["seq"]), "--text", "Vi retter op.", "--occurred-at", "2024-05-10T08:00:00Z",
                who=TOVE)
    decide = ["decide", T, "påbud", "--varsel", str(v["seq"]), "--reason", BEGRUNDELSE, "--hoering-afvejning",
              "Svaret ændrer ikke, at kriteriet ikke er opfyldt."]
    assert f"før høringssvaret seq {svar['seq']}, som afgørelsen afvejer" in c.refused(
        *decide, "--occurred-at", "2024-05-08T08:00:00Z", who=LARS)
    d = c.ok(*decide, "--occurred-at", "2024-05-12T08:00:00Z", who=LARS)
    assert f"forlængelsen er dateret 7. maj 2024 kl. 10.00 (CEST), før afgørelsen seq {d['seq']}" in c.refused(
        "decision", "extend", T, str(d["seq"]), "--deadline", "2024-09-01", "--reason", "Mere tid.", "--occurred-at",
        "2024-05-07T08:00:00Z", who=LARS)
    for marker in ("2.3.1", "2.3.2"):
        c.ok("assess", "marker", T, marker, "til-stede", "--reason", "Forholdet er rettet.", "--occurred-at",
             "2024-06-01T08:00:00Z")
    new = c.ok("assess", "criterion", T, "2.3", "opfyldt", "--reason", named("2.3", {}), "--occurred-at",
               "2024-06-01T09:00:00Z")
    assert f"før vurderingen af kriterium 2.3 seq {new['seq']}, som den hviler på" in c.refused(
        "decision", "fulfil", T, str(d["seq"]), "--reason", "Ny vurdering viser 2.3 opfyldt.", "--occurred-at",
        "2024-05-20T08:00:00Z", who=LARS)
    assert f"rettelsen er dateret 1. maj 2024 kl. 10.00 (CEST), før hændelsen seq {new['seq']}" in c.refused(
        "correct", T, str(new["seq"]), "--reason", "Fejl.", "--occurred-at", "2024-05-01T08:00:00Z")
    c.ok("decision", "fulfil", T, str(d["seq"]), "--reason", "Ny vurdering viser 2.3 opfyldt.", "--occurred-at",
         "2024-06-02T08:00:00Z", who=LARS)


def test_7_a_decision_is_not_dated_before_the_marker_verdicts_of_its_criteria(tilsyn):
    c = tilsyn
    c.ok("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", "Dørene låses.", "--occurred-at", "2024-05-03")
    c.ok("assess", "criterion", T, "2.3", "ikke-opfyldt", "--reason", named("2.3", {"2.3.1": "ikke til stede"}),
         "--occurred-at", "2024-05-03T09:00:00Z")
    c.ok("assess", "marker", T, "2.3.2", "til-stede", "--reason", "Indberetninger følges op.", "--occurred-at",
         "2024-05-05T08:00:00Z")
    assert "ligger før vurderingen af markør 2.3.2" in c.refused(
        "decide", T, "påbud", "--criterion", "2.3", "--deadline", later(60), "--indhold", "I", "--hjemmel", HJEMMEL,
        "--reason", BEGRUNDELSE, "--uden-partshoering", "Haster.", "--occurred-at", "2024-05-04T08:00:00Z", who=LARS)


def test_7_the_clock_tolerance_is_a_setting(tilsyn, tmp_path):
    from datetime import datetime, timezone

    c = tilsyn
    soon = (datetime.now(timezone.utc) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    c.ok("visit", "start", T, "--visit", "B1", "--occurred-at", soon)  # within the default 5 minutes
    (tmp_path / "tilsyn.toml").write_text(f'[settings]\n"supervision.klagevejledning" = "{KLAGE}"\n'
                                          f'"supervision.ur_tolerance_minutter" = 1\n', encoding="utf-8")
    assert "i fremtiden (mere end 1 minut efter nu)" in c.refused("visit", "start", T, "--visit", "B2",
                                                                     "--occurred-at", soon)


def test_7_data_from_an_aborted_visit_do_not_count_toward_the_design(tilsyn):
    c = tilsyn
    c.ok("visit", "start", T, "--visit", "B1")
    c.ok("observe", T, "2.3.1", "--source", "borger", "--method", "interview", "--text", "Låste døre.",
         "--element", "2.3.1.a", "--visit", "B1")
    c.ok("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", "Dørene låses.")
    covered = lambda: not any("2.3.1.a" in f["message"] for f in c.findings("undersoegelsesdesign"))  # noqa: E731
    assert covered()
    c.ok("visit", "abort", T, "--visit", "B1", "--reason", "De fleste data kunne ikke indsamles.")
    assert not covered()


# 8. Commands and views ------------------------------------------------------------------------------------------

def test_8_status_explain_history_show_the_legal_parts(tilsyn):
    c = tilsyn
    c.fail_23()
    d = c.paabud()
    text = c("status", T).stdout
    assert "hjemmel: Testhjemmel A" in text and "klagevejledning: Afgørelsen kan påklages til Ankestyrelsen." in text
    assert "høring: varsel seq" in text and "indhold: Tilbuddet skal ophøre" in text
    history = c("history", T).stdout
    assert "tilsyn.VarselGiven" in history and "tilsyn.Hoeringssvar" in history
    tree = c.ok("explain", T, str(d["seq"]))
    assert tree["decision"]["varsel"]["seq"] == d["payload"]["varsel"]
    assert tree["decision"]["varsel"]["svar"][0]["actor"] == TOVE


# The demo runs a lawful course ------------------------------------------------------------------------------

def test_the_demo_runs_varsel_hoeringssvar_paabud_plan_new_assessment_fulfilled(tmp_path):
    from tilsyn.cli.demo import PAABUD_SEQ, run_demo
    from tilsyn.standards.service import Supervision

    assert run_demo(tmp_path / "demo").ok
    plugins = default_plugins()
    with Ledger.open(str(tmp_path / "demo" / "tilsyn.db"), plugins.policy()) as ledger:
        sup = Supervision(ledger, plugins)
        state = sup.state("T-1001")
        (d,) = state.live_decisions()
        assert d.seq == PAABUD_SEQ and d.kind == "påbud" and d.status == "efterkommet"
        v = state.varsel(d.varsel)
        assert v is not None and v.seq < d.seq and v.hoeringsfrist < d.occurred_at[:10]
        (svar,) = state.live_svar(v)
        assert v.seq < svar.seq < d.seq and svar.actor == "Mette Lund" and not svar.on_behalf
        assert d.hjemmel and d.indhold and d.hoering_afvejning and d.klagevejledning.endswith("Ankestyrelsen.")
        rows = [i for i in state.plan() if state.item_fields(i).get("answers") == d.seq]
        assert len(rows) == 2 and all(d.seq < i.seq for i in rows)
        verdict = state.criterion_verdict("2.3")
        assert verdict.verdict == "opfyldt" and rows[-1].seq < verdict.seq < d.closed_seq
        assert d.fulfil_basis == {"2.3": verdict.seq}
        assert state.legal_status() == "godkendt"
        rules = {f.rule for f in sup.findings(state)}
        assert not rules & {"frist-overskredet", "genoptagelse", "uden-partshoering", "varsel-uden-afgoerelse"}


def test_7_the_hoeringsfrist_is_a_danish_date(tilsyn):
    """Half past midnight in Copenhagen is already the day after the høringsfrist, though UTC says otherwise."""
    c = tilsyn
    c.ok("assess", "marker", T, "2.3.1", "ikke-til-stede", "--reason", "Dørene låses.", "--occurred-at", "2024-05-03")
    c.ok("assess", "criterion", T, "2.3", "ikke-opfyldt", "--reason", named("2.3", {"2.3.1": "ikke til stede"}),
         "--occurred-at", "2024-05-03T09:00:00Z")
    v = c.ok("varsel", T, "påbud", "--criterion", "2.3", "--indhold", "Ophør med at låse døre.", "--deadline",
             "2024-08-01", "--hjemmel", HJEMMEL, "--reason", BEGRUNDELSE, "--hoeringsfrist", "2024-05-20",
             "--occurred-at", "2024-05-06T08:00:00Z", who=LARS)
    decide = ["decide", T, "påbud", "--varsel", str(v["seq"]), "--reason", BEGRUNDELSE]
    assert "høringsfristen 2024-05-20 er ikke udløbet" in c.refused(*decide, "--occurred-at",
                                                                   "2024-05-20T23:30:00+02:00", who=LARS)
    c.ok(*decide, "--occurred-at", "2024-05-21T00:30:00+02:00", who=LARS)


# Scoped roles (issue 10): a tilbudsleder acts for their own tilbud only -----------------------------------------

def test_a_scoped_tilbudsleder_answers_and_plans_for_their_tilbud_and_is_refused_for_another(tilsyn):
    c = tilsyn
    for name, scope in (("Mads Holm", T), ("Ib Berg", A)):
        r = c("keys", "add", name, "--role", "tilbudsleder", "--tilbud", scope, who="Socialtilsyn Øst")
        assert r.exit_code == 0, r.output
    c.fail_23()
    v = c.varsel()
    # The leader of another tilbud: one Danish line, exit 2, nothing written — for every act of the tilbud's own.
    error = c.refused("hoering", T, str(v["seq"]), "--text", "Vi svarer for naboen.", who="Ib Berg")
    assert error.endswith(f"Ib Berg er tilbudsleder for {A} og kan ikke registrere «høringssvar» for {T}")
    svar = c.ok("hoering", T, str(v["seq"]), "--text", "Vi retter op inden fristen.", who="Mads Holm")
    assert svar["actor"] == "Mads Holm" and not svar["payload"].get("on_behalf")
    d = c.decide(v)
    row = ["plan", "add", T, "--priority", "1", "--tema", "Sundhed og trivsel", "--emne", "Låste døre",
           "--maal", "Åbne døre", "--hvad", "Nøgler til borgerne", "--hvordan", "Budget", "--start", later(1),
           "--slut", later(50), "--dokumentation", "Referater", "--hvem", "Mads Holm", "--answers", str(d["seq"])]
    assert "Ib Berg er tilbudsleder for A-1 og kan ikke registrere «opfølgningsplan, ny prioritet» for T-9" in \
        c.refused(*row, who="Ib Berg")
    item = c.ok(*row, who="Mads Holm")["payload"]["item"]
    assert "kan ikke registrere «opfølgningsplan godkendt» for T-9" in c.refused("plan", "approve", T, who="Ib Berg")
    c.ok("plan", "approve", T, who="Mads Holm")
    assert "kan ikke registrere «opfølgningsplan konsekvensrettet»" in c.refused(
        "plan", "revise", T, item, "--slut", later(55), "--reason", "Senere levering.", who="Ib Berg")
    c.ok("plan", "revise", T, item, "--slut", later(55), "--reason", "Senere levering af nøgler.", who="Mads Holm")
    assert "kan ikke registrere «resultat»" in c.refused("plan", "result", T, item, "--resultat", "Dørene er åbne.",
                                                          who="Ib Berg")
    c.ok("plan", "result", T, item, "--resultat", "Dørene er åbne.", who="Mads Holm")
    # Nor may a tilbudsleder do the tilsyn's part, in scope or not.
    assert "Mads Holm (tilbudsleder) kan ikke registrere «frist forlænget»: det kræver rollen tilsynsleder" in \
        c.refused("decision", "extend", T, str(d["seq"]), "--deadline", later(90), "--reason", "Mere tid.",
                  who="Mads Holm")
