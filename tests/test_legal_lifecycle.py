"""The legal lifecycle as a property: no sequence of accepted events leaves an unlawful course.

Random acts of a tilsynsleder and a konsulent — decisions of every kind, lifting, fulfilling, frist
extensions, new verdicts, corrections of any of them — are offered to the guards. Whatever they accept,
afterwards: each live decision fits the status the earlier ones left (seed 002), no two open decisions
are incompatible, nothing stands open on an afslået or ophørt tilbud; whatever they refuse leaves the
ledger unchanged.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tilsyn.ledger import KeyStore, Ledger, LedgerError
from tilsyn.plugins.manager import default_plugins
from tilsyn.standards import events as ev
from tilsyn.standards import legal
from tilsyn.standards.service import Supervision

PLUGINS = default_plugins({"supervision.klagevejledning": "Afgørelsen kan påklages til Ankestyrelsen."})
FRIST = (date.today() + timedelta(days=60)).isoformat()
REASON = "Kriterium 2.3 er ikke opfyldt, da markør 2.3.1 ikke er til stede; borgernes selvbestemmelse vejer tungest."

acts = st.lists(st.one_of(
    st.tuples(st.just("decide"), st.sampled_from(ev.DECISION_KINDS)),
    st.tuples(st.sampled_from(["lift", "fulfil", "extend", "correct"]), st.integers(0, 20)),
    st.tuples(st.sampled_from(["repair", "break"]), st.just(0)),
), min_size=1, max_size=14)


def _verdicts(s, k, opfyldt: bool):
    if opfyldt:
        s.record(k, "T-1", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "til stede", "reason": "Dørene er åbne."})
        s.record(k, "T-1", ev.MARKER_ASSESSED, {"marker": "2.3.2", "verdict": "til stede", "reason": "Indberetningerne følges op."})
        s.record(k, "T-1", ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "opfyldt", "reason":
                 "Markør 2.3.1 er til stede. Markør 2.3.2 er til stede. Borgerne bekræfter det ved interview."})
    else:
        s.record(k, "T-1", ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "ikke opfyldt", "reason":
                 "Markør 2.3.1 er ikke til stede. Markør 2.3.2 er til stede. Borgerne fortæller om låste døre."})
        s.record(k, "T-1", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede", "reason": "Dørene er låst om aftenen."})


def _payload(kind: str, state) -> dict:
    p = {"kind": kind, "criteria": [] if kind == "godkendelse" else ["2.3"], "reason": REASON,
         "indhold": "Tilbuddet skal ophøre med at låse døre.", "hjemmel": "Testhjemmel"}
    if kind != "godkendelse":
        p["uden_partshoering"] = "Egenskabstest uden høring."
    if kind in ev.ORDER_KINDS:
        p["deadline"] = FRIST
    return p


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["ansøger", "godkendt"]), acts)
def test_no_accepted_sequence_leaves_an_unlawful_course(initial, steps):
    with tempfile.TemporaryDirectory() as home:
        keystore = KeyStore(home)
        ledger, authority = Ledger.init(f"sqlite:///{home}/t.db", "Socialtilsyn Øst", keystore, policy=PLUGINS.policy())
        try:
            ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
            ledger.register_key(authority, "Lars", ["tilsynsleder"], keystore)
            k, lars = ledger.signer("Karen", keystore), ledger.signer("Lars", keystore)
            s = Supervision(ledger, PLUGINS)
            s.record(k, "T-1", ev.TILBUD_REGISTERED, {
                "tilbud": "T-1", "name": "N", "tilbud_type": "døgntilbud", "has_board": False, "status": initial,
                **({"godkendt_dato": "2019-01-01"} if initial == "godkendt" else {})},
                occurred_at="2020-01-02T10:00:00.000000Z")
            _verdicts(s, k, opfyldt=False)
            for act, arg in steps:
                state = s.state("T-1")
                before = ledger.count()
                decisions = state.live_decisions()
                target = decisions[arg % len(decisions)].seq if decisions and isinstance(arg, int) else 999
                try:
                    if act == "decide":
                        s.record(lars, "T-1", ev.DECISION_ISSUED, _payload(arg, state))
                    elif act == "lift":
                        s.record(lars, "T-1", ev.DECISION_LIFTED, {"decision": target, "reason": "Ophævet i testen."})
                    elif act == "fulfil":
                        s.record(lars, "T-1", ev.DECISION_FULFILLED, {"decision": target, "reason": "Efterkommet."})
                    elif act == "extend":
                        s.record(lars, "T-1", ev.DECISION_EXTENDED, {
                            "decision": target, "deadline": (date.today() + timedelta(days=90 + arg)).isoformat(),
                            "reason": "Forlænget i testen."})
                    elif act == "correct":
                        seqs = sorted(set(state.types) - set(state.withdrawn) - {state.registered_seq})
                        seqs = [q for q in seqs if state.types[q] != ev.CORRECTION]
                        if seqs:
                            s.record(lars, "T-1", ev.CORRECTION, {"corrects": seqs[arg % len(seqs)],
                                                                  "reason": "Rettet i testen."})
                    else:
                        _verdicts(s, k, opfyldt=(act == "repair"))
                except LedgerError:
                    if act not in ("repair", "break"):  # those record several events; only the refused one is absent
                        assert ledger.count() == before, f"a refused {act} changed the ledger"
                after = s.state("T-1")
                assert legal.course_errors(after.registered_status, after.live_decisions()) == []
                assert after.legal_status() in legal.STATUSES
        finally:
            ledger.close()
