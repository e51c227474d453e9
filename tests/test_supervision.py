"""A supervision, told through the Python API: visits, verdicts, risk, påbud, the follow-up plan,
regional indikatorer and corrections — every guard refusing with its reason, every finding reported
where it should be and nowhere else.

The ledger runs on SQLite and on PostgreSQL (``db_url``). The plugins are exactly the built-in ones,
so the test does not depend on what else happens to be installed.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tilsyn.ledger import AuthorizationError, Ledger, ValidationError
from tilsyn.plugins import kvalitetsmodel, opfoelgningsplan, regional_1_3, supervision
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.service import Refused, Supervision
from tilsyn.standards.summary import summarise

BUILT_IN = [("kvalitetsmodel", kvalitetsmodel), ("opfoelgningsplan", opfoelgningsplan),
            ("regional_1_3", regional_1_3), ("supervision", supervision)]
MODEL = {"standard": "kvalitetsmodel-2025", "standard_version": "2025.1"}

# Justifications of the depth seed 002 asks for: short when grøn, fuller when gul, thorough when rød.
KORT = "Markørerne er til stede; borgere og medarbejdere bekræfter det samstemmende."
FULDT = ("Borgerne fortæller om tryg hverdag, men to medarbejdere beskriver usikkerhed om procedurerne. "
         "Dokumenterne er ikke opdaterede, og vi udvider undersøgelsesdesignet med pårørende.")
GRUNDIGT = ("Markør 2.3.1 er ikke til stede. Tre borgere fortæller samstemmende, at de bliver holdt fast, "
            "når de bliver urolige. Medarbejderne kan ikke redegøre for en pædagogisk praksis, der "
            "forebygger magtanvendelser, og de fire magtanvendelsesindberetninger fra seneste kvartal viser "
            "samme mønster. Ved observation af de fysiske rammer sås aflåste fællesarealer uden begrundelse. "
            "Kriteriet er derfor ikke opfyldt.")


def on(day: str, clock: str = "10:00") -> str:
    """``occurred_at`` for a day (canonical RFC 3339, UTC)."""
    return f"{day}T{clock}:00.000000Z"


def later(days: int) -> str:
    """A date ``days`` from today (frister are set from the day of the decision)."""
    return (date.today() + timedelta(days=days)).isoformat()


KLAGEVEJLEDNING = "Afgørelsen kan påklages til Ankestyrelsen."
HJEMMEL = "Hjemmel som operatøren angiver den"


class Office:
    """A supervision authority's ledger and the three people who record in it."""

    def __init__(self, ledger: Ledger, plugins, keystore):
        self.ledger, self.plugins = ledger, plugins
        self.S = Supervision(ledger, plugins)
        self.karen = ledger.signer("Karen", keystore)  # tilsynskonsulent
        self.lars = ledger.signer("Lars", keystore)    # tilsynsleder
        self.tove = ledger.signer("Tove", keystore)    # tilbudsleder

    def record(self, who, type: str, payload: dict, tilbud: str = "T-1", at: str | None = None):
        return self.S.record(who, tilbud, type, payload, occurred_at=at)

    def refused(self, who, type: str, payload: dict, tilbud: str = "T-1", at: str | None = None,
                error: type[Exception] = Refused) -> str:
        """Record, expect a refusal, check nothing was written, and return the reason."""
        before = self.ledger.count()
        with pytest.raises(error) as refusal:
            self.record(who, type, payload, tilbud, at)
        assert self.ledger.count() == before, "a refused event must leave the ledger unchanged"
        return str(refusal.value)

    def state(self, tilbud: str = "T-1", **kw):
        return self.S.state(tilbud, **kw)

    def summary(self, tilbud: str = "T-1", **kw) -> dict:
        return summarise(self.state(tilbud, **kw), self.plugins.catalog)

    def findings(self, rule: str, tilbud: str = "T-1", today: date | None = None) -> list:
        return [f for f in self.S.findings(self.state(tilbud), today=today) if f.rule == rule]

    # -- the acts of a supervision, in domain words ----------------------------------------------
    def register(self, tilbud="T-1", tilbud_type="døgntilbud", board=False, regional=(), status="godkendt"):
        """Registered back in 2020 (so acts dated since then make sense), as an approved tilbud by default."""
        return self.record(self.karen, ev.TILBUD_REGISTERED,
                           {"tilbud": tilbud, "name": f"Bostedet {tilbud}", "tilbud_type": tilbud_type,
                            "has_board": board, "regional_standards": list(regional), "status": status,
                            **({"godkendt_dato": "2019-06-01"} if status == "godkendt" else {})},
                           tilbud, on("2020-01-02"))

    def observe(self, marker, source, method, text="Observation.", tilbud="T-1", **extra):
        """An observation on the visit in progress (one is started if none is: data belong to a visit)."""
        state = self.state(tilbud)
        if "visit" not in extra and not any(v.status == "i gang" for v in state.live_visits()):
            self.record(self.karen, ev.VISIT_STARTED, {"visit": f"B{len(state.visits) + 1}", "kind": "uanmeldt"},
                        tilbud)
        return self.record(self.karen, ev.OBSERVATION,
                           {"marker": marker, "source": source, "method": method, "text": text, **extra}, tilbud)

    def marker(self, marker, verdict, reason="Vurderet ud fra observationerne.", tilbud="T-1"):
        return self.record(self.karen, ev.MARKER_ASSESSED, {"marker": marker, "verdict": verdict, "reason": reason},
                           tilbud)

    def criterion(self, criterion, verdict, reason=KORT, tilbud="T-1", at=None):
        return self.record(self.karen, ev.CRITERION_ASSESSED,
                           {"criterion": criterion, "verdict": verdict, "reason": reason}, tilbud, at)

    def risk(self, colour, reason, criterion=None, tilbud="T-1"):
        payload = {"colour": colour, "reason": reason} | ({"criterion": criterion} if criterion else {})
        return self.record(self.karen, ev.RISK, payload, tilbud)

    def begrundelse(self, criteria, tilbud="T-1"):
        """A begrundelse naming each criterion and the markers under it that stand ikke til stede."""
        state, model = self.state(tilbud), self.plugins.catalog.get("kvalitetsmodel-2025")
        absent = [m.id for c in criteria for m in model.criterion(c).markers
                  if (v := state.marker_verdict(m.id)) is not None and v.verdict == "ikke til stede"]
        return (f"Kriterium {', '.join(criteria)} er ikke opfyldt, da markør {', '.join(absent) or '–'} ikke er til "
                f"stede; tilbuddet skal have en praksis, der forebygger magtanvendelser.")

    def decide(self, kind="påbud", criteria=("2.3",), deadline=None, tilbud="T-1", **extra):
        """A lawful decision: varsel, høringssvar from the tilbudsleder, then the decision on it."""
        reason = self.begrundelse(criteria, tilbud)
        deadline = deadline or (later(60) if kind in ev.ORDER_KINDS else None)
        legal = {"indhold": "Tilbuddet skal ændre sin praksis.", "hjemmel": HJEMMEL, "reason": reason,
                 **({"deadline": deadline} if deadline else {})}
        varsel = self.record(self.lars, ev.VARSEL, {"kind": kind, "criteria": list(criteria), **legal,
                                                    "hoeringsfrist": later(7)}, tilbud)
        self.record(self.tove, ev.HOERINGSSVAR, {"varsel": varsel.seq, "text": "Vi retter op."}, tilbud)
        return self.record(self.lars, ev.DECISION_ISSUED, {
            "kind": kind, "criteria": list(criteria), "varsel": varsel.seq, "klagevejledning": KLAGEVEJLEDNING,
            "hoering_afvejning": "Svaret ændrer ikke vurderingen.", **legal, **extra}, tilbud)

    def paabud(self, criteria=("2.3",), deadline=None, tilbud="T-1"):
        return self.decide("påbud", criteria, deadline, tilbud)

    def plan_item(self, item="1", priority=1, answers=None, who=None, tilbud="T-1"):
        row = {"item": item, "priority": priority, "tema": "Sundhed og trivsel",
               "emne": "Ledelsen skal sikre, at reglerne for indberetninger af magtanvendelser efterleves.",
               "maal": "At både ledelse og medarbejdere kender reglerne for magtanvendelse",
               "hvad": "Undervisning af ledelse og medarbejdere fra kommunens jurist",
               "hvordan": "Ledelse og personale har afsat tid til kompetenceløft",
               "start": "2025-03-15", "slut": "2025-05-31",
               "dokumentation": "Referat fra fagligt forum eller personalemøde", "hvem": "Jan Hoel"}
        if answers is not None:
            row["answers"] = answers
        return self.record(who or self.tove, ev.PLAN_ITEM_ADDED, row, tilbud)

    def oekonomi(self, verdict="opfyldt", reason="Budget og regnskab hænger sammen med tilbuddets indsats.",
                 tilbud="T-1"):
        return self.record(self.karen, ev.OEKONOMI_ASSESSED, {"verdict": verdict, "reason": reason}, tilbud)

    def approve(self, revision=None, who=None, tilbud="T-1"):
        revision = revision if revision is not None else self.state(tilbud).plan_revision
        return self.record(who or self.tove, ev.PLAN_APPROVED, {"plan_revision": revision}, tilbud)


@pytest.fixture(scope="module")
def plugins():
    return load_plugins(BUILT_IN)


@pytest.fixture
def office(db_url, keystore, plugins):
    """A new ledger with the plugins' event types, and keys for Karen, Lars and Tove."""
    ledger, authority = Ledger.init(db_url, "Socialtilsyn Øst", keystore, policy=plugins.policy())
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.register_key(authority, "Lars", ["tilsynsleder"], keystore)
    ledger.register_key(authority, "Tove", ["tilbudsleder"], keystore)
    yield Office(ledger, plugins, keystore)
    ledger.close()


@pytest.fixture
def solsikken(office):
    """A registered døgntilbud without a board (T-1)."""
    office.register()
    return office


def assess_everything(office, tilbud="T-1", failing=(), oekonomi="opfyldt"):
    """Every marker til stede (the board marker ikke aktuel without a board) and every criterion opfyldt,
    except the criteria in ``failing``: their first marker ikke til stede and the criterion ikke opfyldt.
    Each begrundelse names its markers with their verdicts (seed 002). Then temaet økonomi, unless None."""
    model = office.plugins.catalog.get("kvalitetsmodel-2025")
    state = office.state(tilbud)
    for crit in model.criteria():
        named = []
        for i, m in enumerate(crit.markers):
            if crit.id in failing and i == 0:
                office.marker(m.id, "ikke til stede", tilbud=tilbud)
                named.append(f"Markør {m.id} er ikke til stede.")
            elif "bestyrelse" in m.requires and not state.has_board:
                office.marker(m.id, "ikke aktuel", "Tilbuddet har ingen bestyrelse.", tilbud=tilbud)
                named.append(f"Markør {m.id} er ikke aktuel, da tilbuddet ikke har en bestyrelse.")
            else:
                office.marker(m.id, "til stede", tilbud=tilbud)
                named.append(f"Markør {m.id} er til stede.")
        if crit.id in failing:
            office.criterion(crit.id, "ikke opfyldt", " ".join(named) + " " + GRUNDIGT, tilbud=tilbud)
        else:
            office.criterion(crit.id, "opfyldt", " ".join(named) + " " + KORT, tilbud=tilbud)
    if oekonomi:
        office.oekonomi(oekonomi, tilbud=tilbud)


def markers_of(office, criterion, verdict, tilbud="T-1"):
    """Assess every marker of ``criterion`` with ``verdict``."""
    for m in office.plugins.catalog.get("kvalitetsmodel-2025").criterion(criterion).markers:
        office.marker(m.id, verdict, tilbud=tilbud)


# =============================================================================================
# The visit
# =============================================================================================

def test_a_visit_with_observations_from_several_sources(solsikken):
    o = solsikken
    o.record(o.karen, ev.VISIT_STARTED, {"visit": "B-2025-1", "kind": "uanmeldt"})
    seqs = [o.observe("2.3.1", "borger", "interview", "Borgerne fortæller om faste rutiner.", visit="B-2025-1",
                      element="2.3.1.a").seq,
            o.observe("2.3.1", "medarbejder", "interview", "Medarbejderne kender de pædagogiske tilgange.",
                      visit="B-2025-1").seq,
            o.observe("2.3.1", "dokumenter", "dokumentanalyse", "Ingen magtanvendelser siden sidst.",
                      visit="B-2025-1").seq,
            o.observe("2.3.1", "fysiske rammer", "observation", "Fællesarealerne er åbne.", visit="B-2025-1").seq]
    o.record(o.karen, ev.VISIT_COMPLETED, {"visit": "B-2025-1"})

    s = o.summary()
    (visit,) = s["visits"]
    assert visit["kind"] == "uanmeldt" and visit["status"] == "gennemført" and visit["counts"] is True
    assert visit["actor"] == "Karen"
    state = o.state()
    assert {(x.source, x.method) for x in state.live_observations("2.3.1")} == {
        ("borger", "interview"), ("medarbejder", "interview"), ("dokumenter", "dokumentanalyse"),
        ("fysiske rammer", "observation")}
    assert all(x.visit == "B-2025-1" and x.standard == "kvalitetsmodel-2025" for x in state.observations)
    marker = next(m for t in s["themes"] for c in t["criteria"] for m in c["markers"] if m["id"] == "2.3.1")
    assert [x["seq"] for x in marker["observations"]] == seqs
    assert marker["observations"][0]["source"] == "borger" and marker["observations"][0]["element"] == "2.3.1.a"


def test_an_aborted_visit_does_not_count(solsikken):
    o = solsikken
    o.record(o.karen, ev.VISIT_STARTED, {"visit": "B-1", "kind": "anmeldt"})
    o.record(o.karen, ev.VISIT_ABORTED, {"visit": "B-1", "reason": "Kun én borger hjemme; data kunne ikke indsamles."})

    (visit,) = o.summary()["visits"]
    assert visit["status"] == "afbrudt" and visit["counts"] is False
    assert visit["abort_reason"].startswith("Kun én borger")
    reason = o.refused(o.karen, ev.VISIT_COMPLETED, {"visit": "B-1"})
    assert "besøget 'B-1' er allerede afbrudt" in reason


def test_a_visit_must_be_started_before_it_is_completed(solsikken):
    reason = solsikken.refused(solsikken.karen, ev.VISIT_COMPLETED, {"visit": "B-9"})
    assert "ukendt besøg 'B-9'" in reason


# =============================================================================================
# Verdicts: markers, criteria, themes, fornøden kvalitet, risk
# =============================================================================================

def test_verdicts_say_who_when_why_and_under_which_standard(solsikken):
    o = solsikken
    m = o.record(o.karen, ev.MARKER_ASSESSED,
                 {"marker": "2.3.1", "verdict": "ikke til stede", "reason": "Borgerne holdes fast ved uro."})
    c = o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    assert m.payload["standard"] == "kvalitetsmodel-2025" and m.payload["standard_version"] == "2025.1"

    s = o.summary()
    theme2 = next(t for t in s["themes"] if t["id"] == "2")
    crit = next(x for x in theme2["criteria"] if x["id"] == "2.3")
    assert crit["decided"]["verdict"] == "ikke opfyldt"
    assert crit["decided"]["actor"] == "Karen" and crit["decided"]["seq"] == c.seq
    assert crit["decided"]["occurred_at"] == c.occurred_at and crit["decided"]["reason"] == GRUNDIGT
    assert crit["decided"]["standard"] == "kvalitetsmodel-2025@2025.1"
    marker = next(x for x in crit["markers"] if x["id"] == "2.3.1")
    assert marker["current"]["verdict"] == "ikke til stede" and marker["current"]["seq"] == m.seq
    assert marker["current"]["reason"] == "Borgerne holdes fast ved uro."
    assert theme2["status"] == "ikke opfyldt"


def test_a_later_verdict_supersedes_an_earlier_one_and_history_is_kept(solsikken):
    o = solsikken
    first = o.marker("2.3.1", "ikke til stede")
    second = o.marker("2.3.1", "til stede", "Ny praksis er indført og observeret.")
    state = o.state()
    assert state.marker_verdict("2.3.1").seq == second.seq
    assert [a.seq for a in state.markers["2.3.1"]] == [first.seq, second.seq]
    # As of the first verdict, the ledger knew only that.
    assert o.state(as_of=first.seq).marker_verdict("2.3.1").verdict == "ikke til stede"
    assert o.state(as_of=str(first.seq)).marker_verdict("2.3.1").seq == first.seq


def test_state_as_of_a_date_is_what_the_ledger_knew_by_the_end_of_that_day(solsikken):
    o = solsikken
    o.marker("2.3.1", "til stede")
    recorded_today = o.state().last_recorded_at[:10]
    assert o.state(as_of=recorded_today).marker_verdict("2.3.1") is not None
    with pytest.raises(ValidationError, match="not yet registered"):
        o.state(as_of="2000-01-01")


def test_fornoeden_kvalitet_when_every_criterion_is_opfyldt(solsikken):
    assess_everything(solsikken)
    s = solsikken.summary()
    assert s["fornoeden_kvalitet"]["value"] is True
    assert s["fornoeden_kvalitet"]["held_back_by"] == [] and s["fornoeden_kvalitet"]["not_assessed"] == []
    assert [t["status"] for t in s["themes"]] == ["opfyldt"] * 5
    assert s["suggested_risk"] == "grøn"
    assert not any(c["differs"] for t in s["themes"] for c in t["criteria"])


def test_one_criterion_ikke_opfyldt_holds_back_fornoeden_kvalitet(solsikken):
    assess_everything(solsikken, failing=("2.3",))
    s = solsikken.summary()
    failing = solsikken.state().criterion_verdict("2.3")
    fk = s["fornoeden_kvalitet"]
    assert (fk["value"], fk["text"], fk["held_back_by"], fk["not_assessed"]) == (False, "nej", ["2.3"], [])
    assert failing.seq in fk["seqs"] and "kriterium 2.3 er ikke opfyldt" in fk["missing"]
    assert {t["id"]: t["status"] for t in s["themes"]} == {
        "1": "opfyldt", "2": "ikke opfyldt", "3": "opfyldt", "4": "opfyldt", "5": "opfyldt"}
    assert s["suggested_risk"] == "rød"


def test_fornoeden_kvalitet_is_open_while_criteria_are_not_assessed(solsikken):
    for m in ("1.1.1", "1.1.2", "1.1.3", "1.1.4"):
        solsikken.marker(m, "til stede")
    solsikken.criterion("1.1", "opfyldt")
    s = solsikken.summary()
    assert s["fornoeden_kvalitet"]["value"] is None
    assert "1.1" not in s["fornoeden_kvalitet"]["not_assessed"]
    assert len(s["fornoeden_kvalitet"]["not_assessed"]) == 8
    assert s["themes"][1]["status"] == "ikke vurderet"


def test_risk_colour_decided_by_the_supervisor_and_suggested_from_the_criteria(solsikken):
    assess_everything(solsikken, failing=("2.3",))
    r = solsikken.risk("gul", FULDT)
    s = solsikken.summary()
    assert s["risk"]["verdict"] == "gul" and s["risk"]["seq"] == r.seq and s["risk"]["actor"] == "Karen"
    assert s["suggested_risk"] == "rød"  # both are shown: the suggestion is not the decision


def test_risk_colour_for_one_criterion(solsikken):
    solsikken.marker("2.3.1", "ikke til stede")
    solsikken.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    solsikken.risk("rød", GRUNDIGT, criterion="2.3")
    s = solsikken.summary()
    crit = next(c for t in s["themes"] for c in t["criteria"] if c["id"] == "2.3")
    assert crit["risk"]["verdict"] == "rød"
    assert s["risk"] is None  # no colour for the tilbud as a whole yet


# =============================================================================================
# Decisions: påbud with a deadline, lifted, fulfilled
# =============================================================================================

def test_a_paabud_rests_on_a_criterion_ikke_opfyldt_and_records_rules_and_basis(solsikken, plugins):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    verdict = o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    d = o.paabud(deadline=later(30))
    assert d.actor == "Lars"
    assert d.payload["rule_versions"] == plugins.versions() == {
        "kvalitetsmodel": "1.1.0", "opfoelgningsplan": "1.0.0", "regional_1_3": "1.0.0", "supervision": "2.1.0"}
    assert d.payload["standard"] == "kvalitetsmodel-2025"

    # A later re-assessment does not move what the decision rested on when it was made.
    o.marker("2.3.1", "til stede", "Ny praksis observeret.")
    o.marker("2.3.2", "til stede")
    o.criterion("2.3", "opfyldt")
    (decision,) = o.summary()["decisions"]
    assert decision["basis"] == {"2.3": verdict.seq}
    assert decision["kind"] == "påbud" and decision["deadline"] == later(30) and decision["status"] == "åben"
    assert decision["hjemmel"] == HJEMMEL and decision["klagevejledning"] == KLAGEVEJLEDNING
    assert decision["varsel"]["svar"][0]["actor"] == "Tove"
    assert decision["criteria"] == ["2.3"] and decision["actor"] == "Lars"
    assert decision["rule_versions"] == plugins.versions()


def test_a_paabud_is_fulfilled_and_another_lifted(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    first, second = o.paabud(), o.decide("skærpet tilsyn")
    o.marker("2.3.1", "til stede", "Ny praksis observeret.")
    o.marker("2.3.2", "til stede")
    o.criterion("2.3", "opfyldt")
    fulfilled = o.record(o.lars, ev.DECISION_FULFILLED, {"decision": first.seq, "reason": "Praksis er ændret."})
    o.record(o.lars, ev.DECISION_LIFTED, {"decision": second.seq, "reason": "Skærpet tilsyn er ikke længere nødvendigt."})

    by_seq = {d["seq"]: d for d in o.summary()["decisions"]}
    assert by_seq[first.seq]["status"] == "efterkommet" and by_seq[first.seq]["closed_seq"] == fulfilled.seq
    assert by_seq[second.seq]["status"] == "ophævet"
    assert o.state().open_decisions() == []
    reason = o.refused(o.lars, ev.DECISION_LIFTED, {"decision": first.seq, "reason": "Alligevel ophævet."})
    assert "er allerede efterkommet" in reason


# =============================================================================================
# The follow-up plan: revisions, approval by the tilbudsleder, result
# =============================================================================================

def test_the_follow_up_plan_is_revised_and_approved_by_the_tilbudsleder(solsikken):
    o = solsikken
    o.plan_item("1", priority=1)
    o.plan_item("2", priority=2)
    o.record(o.tove, ev.PLAN_ITEM_REVISED,
             {"item": "2", "changes": {"slut": "2025-09-30"}, "reason": "Juristen kan først komme i september."})
    assert o.state().plan_revision == 3
    assert [f.message for f in o.findings("plan-ikke-godkendt")] == [
        "opfølgningsplanen er ikke godkendt af tilbudslederen"]

    # Approving a revision the leader did not see is refused.
    reason = o.refused(o.tove, ev.PLAN_APPROVED, {"plan_revision": 2})
    assert "godkendelsen gælder revision 2, men planen er nu i revision 3" in reason
    approval = o.approve(3)
    s = o.summary()
    assert s["plan"]["approved"] is True and s["plan"]["approval"]["actor"] == "Tove"
    assert s["plan"]["approval"]["seq"] == approval.seq
    assert [i["item"] for i in s["plan"]["items"]] == ["1", "2"]
    assert s["plan"]["items"][1]["fields"]["slut"] == "2025-09-30"
    assert s["plan"]["items"][1]["revisions"][0]["reason"] == "Juristen kan først komme i september."
    assert o.findings("plan-ikke-godkendt") == []

    # Konsekvensrettet after approval: the plan as it stands is no longer approved.
    o.record(o.karen, ev.PLAN_ITEM_REVISED,
             {"item": "1", "changes": {"hvem": "Carsten K Pedersen"}, "reason": "Ny ansvarlig."})
    assert o.summary()["plan"]["approved"] is False
    (finding,) = o.findings("plan-ikke-godkendt")
    assert "ændret efter godkendelsen (godkendt revision 3, nu revision 4)" in finding.message

    o.approve(4)
    result = o.record(o.tove, ev.PLAN_RESULT, {"item": "2", "resultat": "Processen er ikke slutført endnu."})
    item = next(i for i in o.summary()["plan"]["items"] if i["item"] == "2")
    assert item["result"] == "Processen er ikke slutført endnu." and item["result_seq"] == result.seq
    assert o.summary()["plan"]["approved"] is True  # a result is not a change of the plan


def test_plan_rows_are_checked(solsikken):
    o = solsikken
    o.plan_item("1")
    assert "findes allerede" in o.refused(o.tove, ev.PLAN_ITEM_ADDED, dict(o.state().plan_items["1"].fields,
                                                                           item="1", priority=1, answers=None,
                                                                           tema_standard=None))
    assert "ukendt planpunkt '7'" in o.refused(o.tove, ev.PLAN_ITEM_REVISED,
                                               {"item": "7", "changes": {"hvem": "X"}, "reason": "Fejl."})
    assert "slut 2025-01-01 ligger før start 2025-03-15" in o.refused(
        o.tove, ev.PLAN_ITEM_REVISED, {"item": "1", "changes": {"slut": "2025-01-01"}, "reason": "Fejl."})
    assert "ukendte kolonner farve" in o.refused(
        o.tove, ev.PLAN_ITEM_REVISED, {"item": "1", "changes": {"farve": "rød"}, "reason": "Fejl."})
    assert "er en afgørelse eller" in o.refused(o.tove, ev.PLAN_ITEM_ADDED, {
        **{k: v for k, v in o.state().plan_items["1"].fields.items() if v is not None}, "item": "2", "answers": 1})


def test_an_empty_plan_cannot_be_approved(solsikken):
    assert "ingen punkter at godkende" in solsikken.refused(solsikken.tove, ev.PLAN_APPROVED, {"plan_revision": 1})


# =============================================================================================
# Regional standard 1.3: indikator checks and internal monitoring
# =============================================================================================

def check_trin_3(o, tilbud, day, verdict="opfyldt", numbers=(5, 6, 7, 8)):
    """Check trin 3's indikatorer on ``day`` (a monitoring cycle rests on them)."""
    return [o.record(o.tove, ev.INDIKATOR_CHECKED, {"standard": "regional-1.3", "indikator": n, "verdict": verdict,
                                                    "reason": "Stikprøve af de individuelle planer."}, tilbud, on(day))
            for n in numbers]


def test_regional_indikatorer_checked_and_monitoring_recorded(office):
    o = office
    o.register("R-1", regional=["regional-1.3"])
    check = o.record(o.karen, ev.INDIKATOR_CHECKED,
                     {"standard": "regional-1.3", "indikator": 1, "verdict": "opfyldt",
                      "reason": "Retningslinjerne for mål og handleplaner foreligger."}, "R-1")
    assert check.payload["standard_version"] == "2020-11-13"
    check_trin_3(o, "R-1", "2024-04-20")
    o.record(o.tove, ev.MONITORING_COMPLETED, {"standard": "regional-1.3", "date": "2024-05-01"}, "R-1",
             on("2024-05-02"))
    (reg,) = o.summary("R-1")["regional"]
    assert reg["standard"] == "regional-1.3" and reg["last_monitoring"]["date"] == "2024-05-01"
    assert [t["number"] for t in reg["trin"]] == [1, 2, 3, 4]
    assert reg["trin"][2]["cadence_years"] == 3
    ind1 = reg["trin"][0]["indikatorer"][0]
    assert ind1["status"] == "opfyldt" and ind1["seq"] == check.seq and ind1["actor"] == "Karen"
    assert reg["trin"][3]["indikatorer"][0]["status"] is None  # indikator 9 not yet checked


def test_regional_trin_3_monitoring_missing_or_older_than_three_years(office):
    o = office
    o.register("R-1", regional=["regional-1.3"])
    (missing,) = o.findings("regional-overvaagning", "R-1", today=date(2025, 1, 1))
    assert missing.subject == "regional-1.3 trin 3" and "ingen intern kvalitetsovervågning" in missing.message

    check_trin_3(o, "R-1", "2022-02-15")
    m = o.record(o.tove, ev.MONITORING_COMPLETED, {"standard": "regional-1.3", "date": "2022-03-01"}, "R-1",
                 on("2022-03-02"))
    assert o.findings("regional-overvaagning", "R-1", today=date(2025, 2, 28)) == []
    (old,) = o.findings("regional-overvaagning", "R-1", today=date(2025, 3, 2))
    assert "2022-03-01 er ældre end 3 år" in old.message and old.seqs == (m.seq,)

    # A tilbud not under any regional standard has nothing to monitor.
    o.register("T-2")
    assert o.findings("regional-overvaagning", "T-2", today=date(2025, 1, 1)) == []


def test_trin_4_needs_a_written_plan_after_a_trin_3_shortfall(office):
    o = office
    o.register("R-1", regional=["regional-1.3"])
    o.record(o.karen, ev.INDIKATOR_CHECKED, {"standard": "regional-1.3", "indikator": 5, "verdict": "opfyldt",
                                              "reason": "Sammenhæng mellem indsats og mål."}, "R-1")
    assert o.findings("regional-forbedring", "R-1") == []  # no shortfall, nothing to improve

    short = o.record(o.karen, ev.INDIKATOR_CHECKED,
                     {"standard": "regional-1.3", "indikator": 8, "verdict": "ikke opfyldt",
                      "reason": "Borgerne oplever ikke at være inddraget i målene."}, "R-1")
    (finding,) = o.findings("regional-forbedring", "R-1")
    assert finding.subject == "regional-1.3 trin 4" and finding.seqs == (short.seq,)
    assert "indikator 8 (trin 3) er ikke opfyldt" in finding.message

    o.record(o.tove, ev.INDIKATOR_CHECKED,
             {"standard": "regional-1.3", "indikator": 9, "verdict": "opfyldt",
              "reason": "Skriftlig plan for inddragelse af borgerne i målarbejdet, vedtaget 2025-04-01."}, "R-1")
    assert o.findings("regional-forbedring", "R-1") == []


def test_regional_checks_name_known_standards_and_indikatorer(office):
    o = office
    o.register("R-1", regional=["regional-1.3"])
    assert "regional-1.3 har ingen indikator 10 (har 1, 2, 3, 4, 5, 6, 7, 8, 9)" in o.refused(
        o.karen, ev.INDIKATOR_CHECKED,
        {"standard": "regional-1.3", "indikator": 10, "verdict": "opfyldt", "reason": "Findes ikke."}, "R-1")
    assert "unknown standard 'regional-9.9'" in o.refused(
        o.karen, ev.INDIKATOR_CHECKED,
        {"standard": "regional-9.9", "indikator": 1, "verdict": "opfyldt", "reason": "Findes ikke."}, "R-1",
        error=ValidationError)
    assert "kvalitetsmodel-2025 er ikke en regional kvalitetsstandard" in o.refused(
        o.karen, ev.INDIKATOR_CHECKED,
        {"standard": "kvalitetsmodel-2025", "indikator": 1, "verdict": "opfyldt", "reason": "Forkert standard."},
        "R-1")
    assert "ligger efter registreringen" in o.refused(
        o.tove, ev.MONITORING_COMPLETED, {"standard": "regional-1.3", "date": "2025-06-01"}, "R-1", on("2025-05-01"))
    assert "ukendt regional standard" in o.refused(
        o.karen, ev.TILBUD_REGISTERED, {"tilbud": "R-2", "name": "X", "tilbud_type": "døgntilbud",
                                        "has_board": False, "regional_standards": ["regional-9.9"]}, "R-2")


# =============================================================================================
# Corrections: nothing is edited
# =============================================================================================

def test_a_correction_withdraws_an_observation(solsikken):
    o = solsikken
    wrong = o.observe("2.3.1", "borger", "interview", "Skrevet på det forkerte tilbud.")
    fix = o.record(o.karen, ev.CORRECTION, {"corrects": wrong.seq, "reason": "Hørte til et andet tilbud."})
    state = o.state()
    assert state.live_observations("2.3.1") == []
    assert state.withdrawn == {wrong.seq: fix.seq}
    assert [c["corrects"] for c in o.summary()["corrections"]] == [wrong.seq]
    # The withdrawn observation is still in the ledger and in the history, for the record.
    assert [x.seq for x in state.observations] == [wrong.seq]


def test_a_correction_replaces_a_verdict(solsikken):
    o = solsikken
    wrong = o.marker("2.3.1", "ikke til stede", "Forvekslet med markør 2.4.1.")
    fix = o.record(o.karen, ev.CORRECTION, {
        "corrects": wrong.seq, "reason": "Forkert markør.",
        "replacement": {"marker": "2.3.1", "verdict": "til stede", "reason": "Praksis forebygger magtanvendelser.",
                        **MODEL}})
    current = o.state().marker_verdict("2.3.1")
    assert current.verdict == "til stede" and current.seq == fix.seq and current.actor == "Karen"
    assert o.summary()["corrections"][0]["replaced"] is True
    assert o.state(as_of=wrong.seq).marker_verdict("2.3.1").verdict == "ikke til stede"


def test_only_the_original_actor_or_a_tilsynsleder_may_correct(solsikken):
    o = solsikken
    wrong = o.observe("2.3.1", "borger", "interview")
    reason = o.refused(o.tove, ev.CORRECTION, {"corrects": wrong.seq, "reason": "Tilbudslederen retter."})
    assert f"kun den, der registrerede seq {wrong.seq} (Karen), eller en tilsynsleder kan rette den" in reason
    # A konsulent who has left must not freeze the record: the tilsynsleder may correct, with a reason.
    o.record(o.lars, ev.CORRECTION, {"corrects": wrong.seq, "reason": "Konsulenten er fratrådt; forkert tilbud."})
    assert o.state().live_observations("2.3.1") == []


def test_a_correction_of_a_correction_is_refused(solsikken):
    o = solsikken
    wrong = o.observe("2.3.1", "borger", "interview")
    fix = o.record(o.karen, ev.CORRECTION, {"corrects": wrong.seq, "reason": "Forkert tilbud."})
    assert "en rettelse kan ikke rettes" in o.refused(o.karen, ev.CORRECTION,
                                                      {"corrects": fix.seq, "reason": "Fortrudt."})
    assert "er allerede rettet" in o.refused(o.karen, ev.CORRECTION, {"corrects": wrong.seq, "reason": "Igen."})


def test_a_correction_cannot_replace_around_a_guard(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    verdict = o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    reason = o.refused(o.karen, ev.CORRECTION, {
        "corrects": verdict.seq, "reason": "Vi vil hellere sige opfyldt.",
        "replacement": {"criterion": "2.3", "verdict": "opfyldt", "reason": KORT, **MODEL}})
    assert "kriterium 2.3 kan ikke være opfyldt, når markør 2.3.1 er vurderet ikke til stede" in reason


def test_withdrawing_a_closing_event_reopens_what_it_closed(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    d = o.paabud()
    markers_of(o, "2.3", "til stede")
    o.criterion("2.3", "opfyldt")
    fulfilled = o.record(o.lars, ev.DECISION_FULFILLED, {"decision": d.seq, "reason": "Troede det var efterkommet."})
    o.record(o.lars, ev.CORRECTION, {"corrects": fulfilled.seq, "reason": "Forkert påbud markeret."})
    assert [x.seq for x in o.state().open_decisions()] == [d.seq]

    o.record(o.karen, ev.VISIT_STARTED, {"visit": "B-1", "kind": "uanmeldt"})
    done = o.record(o.karen, ev.VISIT_COMPLETED, {"visit": "B-1"})
    o.record(o.karen, ev.CORRECTION, {"corrects": done.seq, "reason": "Besøget fortsætter i morgen."})
    assert o.summary()["visits"][0]["status"] == "i gang"


# =============================================================================================
# Guards: each refuses with a clear reason, and the ledger is unchanged
# =============================================================================================

def test_opfyldt_is_refused_while_a_marker_is_ikke_til_stede(solsikken):
    solsikken.marker("2.3.1", "ikke til stede")
    solsikken.marker("2.3.2", "til stede")
    reason = solsikken.refused(solsikken.karen, ev.CRITERION_ASSESSED,
                               {"criterion": "2.3", "verdict": "opfyldt", "reason": KORT})
    assert "refused by kvalitetsmodel/opfyldt-uden-fravaerende-markoer" in reason
    assert "kriterium 2.3 kan ikke være opfyldt, når markør 2.3.1 er vurderet ikke til stede" in reason


def test_ikke_aktuel_is_refused_for_a_marker_that_applies(solsikken):
    reason = solsikken.refused(solsikken.karen, ev.MARKER_ASSESSED,
                               {"marker": "2.3.1", "verdict": "ikke aktuel", "reason": "Ikke relevant her."})
    assert ("markør 2.3.1 gælder efter modellen for et døgntilbud; ikke aktuel efter tilsynets skøn kræver en "
            "begrundelse, der siger, hvorfor den ikke er relevant for tilbudstypen (døgntilbud)") in reason


def test_the_board_marker_is_ikke_aktuel_only_without_a_board(office):
    office.register("T-1", board=False)
    office.register("T-2", board=True)
    ok = office.marker("3.1.2", "ikke aktuel", "Tilbuddet har ingen bestyrelse.", tilbud="T-1")
    assert ok.payload["verdict"] == "ikke aktuel"
    reason = office.refused(office.karen, ev.MARKER_ASSESSED,
                            {"marker": "3.1.2", "verdict": "ikke aktuel", "reason": "Bestyrelsen er ny."}, "T-2")
    assert "markør 3.1.2 gælder efter modellen for et døgntilbud med bestyrelse" in reason


def test_a_criterion_verdict_needs_a_justification(solsikken):
    reason = solsikken.refused(solsikken.karen, ev.CRITERION_ASSESSED,
                               {"criterion": "1.1", "verdict": "ikke opfyldt", "reason": "ok"})
    assert "kriteriet kræver en faglig begrundelse" in reason
    # An empty one does not even fit the payload type.
    reason = solsikken.refused(solsikken.karen, ev.CRITERION_ASSESSED,
                               {"criterion": "1.1", "verdict": "opfyldt", "reason": ""}, error=ValidationError)
    assert "reason" in reason


@pytest.mark.parametrize("who, type, payload, needs", [
    ("tove", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "til stede", "reason": "Vi synes selv."},
     "tilsynskonsulent"),
    ("karen", ev.DECISION_ISSUED, {"kind": "påbud", "criteria": ["2.3"], "deadline": later(30),
                                   "reason": "Konsulenten træffer afgørelse om kriterium 2.3 (markør 2.3.1).",
                                   "indhold": "Ret op.", "hjemmel": HJEMMEL, "klagevejledning": KLAGEVEJLEDNING,
                                   "uden_partshoering": "Haster."}, "tilsynsleder"),
    ("karen", ev.PLAN_APPROVED, {"plan_revision": 1}, "tilbudsleder"),
], ids=["tilbudsleder-assesses", "tilsynskonsulent-decides", "tilsynskonsulent-approves-plan"])
def test_acts_need_the_right_role(solsikken, who, type, payload, needs):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    o.plan_item("1")
    reason = o.refused(getattr(o, who), type, payload, error=AuthorizationError)
    assert "refused by supervision/rolle" in reason and f"det kræver rollen {needs}" in reason


def test_a_paabud_needs_a_deadline_and_a_criterion_ikke_opfyldt(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    markers_of(o, "1.1", "til stede")
    o.criterion("1.1", "opfyldt")
    legal = {"indhold": "Ret op.", "hjemmel": HJEMMEL, "klagevejledning": KLAGEVEJLEDNING,
             "uden_partshoering": "Borgernes sikkerhed kan ikke vente."}
    assert "et påbud kræver en frist" in o.refused(
        o.lars, ev.DECISION_ISSUED, {"kind": "påbud", "criteria": ["2.3"], "reason": "Uden frist.", **legal})
    assert "kræver mindst ét kvalitetskriterium, der står som ikke opfyldt" in o.refused(
        o.lars, ev.DECISION_ISSUED,
        {"kind": "påbud", "criteria": ["1.1"], "deadline": later(30), "reason": "På et opfyldt kriterium.", **legal})
    assert "kræver mindst ét kvalitetskriterium, der står som ikke opfyldt" in o.refused(
        o.lars, ev.DECISION_ISSUED,
        {"kind": "skærpet tilsyn med påbud", "criteria": ["4.1"], "deadline": later(30),
         "reason": "På et kriterium, der ikke er vurderet.", **legal})
    assert "skal hvile på mindst ét kvalitetskriterium" in o.refused(
        o.lars, ev.DECISION_ISSUED, {"kind": "påbud", "criteria": [], "deadline": later(30),
                                     "reason": "På ingenting.", **legal})
    assert f"fristen {later(-1)} ligger før afgørelsen" in o.refused(
        o.lars, ev.DECISION_ISSUED, {"kind": "påbud", "criteria": ["2.3"], "deadline": later(-1),
                                     "reason": "Kriterium 2.3, markør 2.3.1: frist i fortiden.", **legal})


@pytest.mark.parametrize("type, payload, says", [
    (ev.MARKER_ASSESSED, {"marker": "9.9.9", "verdict": "til stede", "reason": "Findes ikke."},
     "no marker '9.9.9'"),
    (ev.CRITERION_ASSESSED, {"criterion": "9.9", "verdict": "opfyldt", "reason": "Findes ikke i modellen."},
     "no criterion '9.9'"),
    (ev.RISK, {"colour": "gul", "reason": "Kriteriet findes ikke.", "criterion": "6.1"}, "no criterion '6.1'"),
    (ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "interview", "text": "x",
                      "element": "2.3.1.z"}, "no design element '2.3.1.z'"),
    (ev.OBSERVATION, {"marker": "2.3.1", "source": "naboen", "method": "interview", "text": "x"},
     "ukendt kilde 'naboen'"),
    (ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "telepati", "text": "x"},
     "ukendt metode 'telepati'"),
], ids=["marker", "criterion", "risk-criterion", "design-element", "source", "method"])
def test_unknown_ids_are_refused(solsikken, type, payload, says):
    reason = solsikken.refused(solsikken.karen, type, payload)
    assert "refused by kvalitetsmodel/kendte-id" in reason and says in reason


def test_an_unknown_criterion_in_a_decision_is_refused(solsikken):
    reason = solsikken.refused(solsikken.lars, ev.DECISION_ISSUED,
                               {"kind": "påbud", "criteria": ["9.1"], "deadline": later(30), "reason": "x",
                                "uden_partshoering": "Haster."})
    assert "ukendt kvalitetskriterium '9.1'" in reason


def test_an_unknown_tilbud_is_refused(office):
    reason = office.refused(office.karen, ev.MARKER_ASSESSED,
                            {"marker": "2.3.1", "verdict": "til stede", "reason": "Hvilket tilbud?"}, "T-404",
                            error=ValidationError)
    assert "unknown tilbud 'T-404'" in reason


def test_a_tilbud_is_registered_once(solsikken):
    reason = solsikken.refused(solsikken.karen, ev.TILBUD_REGISTERED,
                               {"tilbud": "T-1", "name": "Igen", "tilbud_type": "døgntilbud", "has_board": False})
    assert "er allerede registreret" in reason


# =============================================================================================
# Findings: reported where they apply, and nowhere else
# =============================================================================================

def test_design_coverage_of_an_assessed_marker(solsikken):
    o = solsikken
    o.observe("2.3.1", "borger", "interview")
    o.marker("2.3.1", "til stede")
    uncovered = {f.message.split()[1] for f in o.findings("undersoegelsesdesign")}
    assert uncovered == {"2.3.1.b", "2.3.1.c", "2.3.1.d"}

    o.observe("2.3.1", "dokumenter", "dokumentanalyse")
    o.observe("2.3.1", "medarbejder", "interview")
    o.observe("2.3.1", "fysiske rammer", "observation")
    assert o.findings("undersoegelsesdesign") == []


def test_design_elements_that_do_not_apply_to_ambulant_tilbud_are_not_required(office):
    # Marker 2.2.1's triangulation interview "Gælder IKKE ambulante tilbud og krisecentre".
    for tilbud, kind in (("A-1", "ambulant"), ("D-1", "døgntilbud")):
        office.register(tilbud, kind)
        office.observe("2.2.1", "borger", "interview", tilbud=tilbud)
        office.observe("2.2.1", "medarbejder", "interview", tilbud=tilbud)
        office.marker("2.2.1", "til stede", tilbud=tilbud)
    assert office.findings("undersoegelsesdesign", "A-1") == []
    (finding,) = office.findings("undersoegelsesdesign", "D-1")
    assert "designelement 2.2.1.c" in finding.message


def test_ikke_til_stede_needs_triangulation(solsikken):
    o = solsikken
    o.observe("2.3.1", "borger", "interview")
    m = o.marker("2.3.1", "ikke til stede")
    (finding,) = o.findings("triangulering")
    assert finding.subject == "markør 2.3.1" and "1 kilde(r) og 1 metode(r)" in finding.message
    assert m.seq in finding.seqs

    o.observe("2.3.1", "dokumenter", "dokumentanalyse")
    assert o.findings("triangulering") == []


def test_rød_needs_triangulation(solsikken):
    o = solsikken
    o.observe("2.3.1", "borger", "interview")
    o.observe("2.3.1", "dokumenter", "dokumentanalyse")
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    o.risk("rød", GRUNDIGT)
    assert o.findings("triangulering") == []

    # A rød for the tilbud as a whole on a criterion only one source speaks to.
    o.observe("4.1.1", "medarbejder", "interview")
    o.marker("4.1.1", "til stede")
    o.criterion("4.1", "ikke opfyldt", GRUNDIGT)
    red = o.risk("rød", GRUNDIGT, criterion="4.1")
    (finding,) = o.findings("triangulering")
    assert finding.subject == "kriterium 4.1" and "risikokategori rød hviler på 1 kilde(r)" in finding.message
    assert red.seq in finding.seqs


def test_justification_too_thin_for_the_risk_colour(solsikken):
    o = solsikken
    markers_of(o, "1.1", "til stede")
    thin = o.criterion("1.1", "opfyldt", "Alt ser fint ud.")  # 17 characters: thin even for grøn
    (finding,) = o.findings("begrundelse-dybde")
    assert finding.subject == "kriterium 1.1" and "ved grøn forventes mindst 40" in finding.message
    assert finding.seqs == (thin.seq,)

    o.criterion("1.1", "opfyldt", KORT)
    assert o.findings("begrundelse-dybde") == []  # short is enough for grøn

    o.risk("gul", FULDT, criterion="1.1")
    (finding,) = o.findings("begrundelse-dybde")
    assert "ved gul forventes mindst 150" in finding.message

    o.criterion("1.1", "opfyldt", FULDT)
    assert o.findings("begrundelse-dybde") == []

    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", FULDT)  # ikke opfyldt counts as rød: must be thorough
    (finding,) = o.findings("begrundelse-dybde")
    assert finding.subject == "kriterium 2.3" and "ved rød forventes mindst 300" in finding.message
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    assert o.findings("begrundelse-dybde") == []


def test_justification_thresholds_are_a_plugin_setting(db_url, keystore):
    plugins = load_plugins(BUILT_IN, settings={"kvalitetsmodel.begrundelse_min_tegn.grøn": 10})
    ledger, authority = Ledger.init(db_url, "Socialtilsyn Øst", keystore, policy=plugins.policy())
    for name, role in (("Karen", "tilsynskonsulent"), ("Lars", "tilsynsleder"), ("Tove", "tilbudsleder")):
        ledger.register_key(authority, name, [role], keystore)
    try:
        o = Office(ledger, plugins, keystore)
        o.register()
        markers_of(o, "1.1", "til stede")
        o.criterion("1.1", "opfyldt", "Alt ser fint ud.")
        assert o.findings("begrundelse-dybde") == []
    finally:
        ledger.close()


def test_suggested_verdict_differs_from_the_decided_one(solsikken):
    o = solsikken
    for m in ("2.3.1", "2.3.2"):
        o.marker(m, "til stede")
    o.criterion("2.3", "opfyldt")
    assert o.findings("forslag-afviger") == []

    decided = o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    (finding,) = o.findings("forslag-afviger")
    assert "markørerne peger på «opfyldt», men kriteriet er vurderet «ikke opfyldt»" in finding.message
    assert finding.seqs[0] == decided.seq
    crit = next(c for t in o.summary()["themes"] for c in t["criteria"] if c["id"] == "2.3")
    assert crit["suggested"] == "opfyldt" and crit["decided"]["verdict"] == "ikke opfyldt" and crit["differs"]


def test_a_passed_frist_is_serious_whatever_the_plan_says(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    d = o.paabud(deadline=later(30))
    frist = date.fromisoformat(later(30))
    before, after = frist, frist + timedelta(days=1)

    assert o.findings("frist-overskredet", today=before) == []
    (finding,) = o.findings("frist-overskredet", today=after)
    assert finding.severity == "alvorlig" and "intet planpunkt besvarer det" in finding.message

    # The tilbud's own plan rows, approved or revised, neither silence nor move the frist.
    o.plan_item("1", answers=d.seq)
    o.approve()
    o.record(o.tove, ev.PLAN_ITEM_REVISED, {"item": "1", "changes": {"slut": later(200)}, "reason": "Mere tid."})
    (finding,) = o.findings("frist-overskredet", today=after)
    assert "kun tilsynet kan forlænge fristen" in finding.message

    # Only the tilsynsleder extends it.
    assert "kræver rollen tilsynsleder" in o.refused(o.tove, ev.DECISION_EXTENDED, {
        "decision": d.seq, "deadline": later(90), "reason": "Vi vil have mere tid."}, error=AuthorizationError)
    ext = o.record(o.lars, ev.DECISION_EXTENDED, {"decision": d.seq, "deadline": later(90),
                                                 "reason": "Planen er realistisk; juristen underviser senere."})
    assert o.findings("frist-overskredet", today=after) == []
    (row,) = o.summary()["decisions"]
    assert row["frist"] == later(90) and row["extensions"][0]["seq"] == ext.seq and row["deadline"] == later(30)


def test_a_fulfilled_paabud_is_not_overdue(solsikken):
    o = solsikken
    o.marker("2.3.1", "ikke til stede")
    o.criterion("2.3", "ikke opfyldt", GRUNDIGT)
    d = o.paabud(deadline=later(30))
    markers_of(o, "2.3", "til stede")
    o.criterion("2.3", "opfyldt")
    o.record(o.lars, ev.DECISION_FULFILLED, {"decision": d.seq, "reason": "Praksis er ændret."})
    assert o.findings("frist-overskredet", today=date.today() + timedelta(days=400)) == []


def test_a_green_supervision_has_no_findings(solsikken):
    """A well-documented, fully covered, triangulated supervision: nothing to point out."""
    o = solsikken
    model = o.plugins.catalog.get("kvalitetsmodel-2025")
    for marker in model.markers():
        if "bestyrelse" in marker.requires:
            continue
        for el in marker.design:
            opt = el.options[0]
            o.observe(marker.id, opt.source, opt.method, element=el.id)
    # Audit 19.1 (indikator 8.b): supervision and sparring heard from both ledelse and medarbejdere.
    o.observe("3.1.1", "ledelse", "interview", element="3.1.1.c")
    assess_everything(o)
    assert o.S.findings(o.state(), today=date(2025, 1, 1)) == []
