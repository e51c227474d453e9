"""Property: no sequence of events the guards accept gives fornøden kvalitet *ja* while any criterion lacks
assessed markers, a marker is ikke til stede, or temaet økonomi is unassessed (issue 14).

Each example is a fresh ledger; the steps are biased towards the acts that lead to *ja* (markers til stede,
criteria opfyldt, økonomi opfyldt), mixed with the acts that should take it away again (a marker turning
ikke til stede, in either setting of ``kvalitetsmodel.ikke_til_stede_under_opfyldt``, corrections that
withdraw a verdict, økonomi ikke opfyldt). Whatever the guards refuse is simply not recorded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tilsyn.ledger import KeyStore, Ledger, ValidationError
from tilsyn.plugins import kvalitetsmodel, opfoelgningsplan, regional_1_3, supervision
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.service import Supervision
from tilsyn.standards.summary import marker_applies, summarise

BUILT_IN = [("kvalitetsmodel", kvalitetsmodel), ("opfoelgningsplan", opfoelgningsplan),
            ("regional_1_3", regional_1_3), ("supervision", supervision)]
_MODES = {mode: load_plugins(BUILT_IN, settings={"kvalitetsmodel.ikke_til_stede_under_opfyldt": mode})
          for mode in ("afvis", "forældet")}
MODEL = _MODES["afvis"].catalog.get("kvalitetsmodel-2025")
MARKERS = [m.id for m in MODEL.markers()]
CRITERIA = [c.id for c in MODEL.criteria()]

step = st.one_of(
    st.tuples(st.just("marker"), st.sampled_from(MARKERS),
              st.sampled_from(["til stede"] * 6 + ["ikke til stede", "ikke aktuel"])),
    st.tuples(st.just("criterion"), st.sampled_from(CRITERIA), st.sampled_from(["opfyldt"] * 4 + ["ikke opfyldt"])),
    st.tuples(st.just("oekonomi"), st.just(""), st.sampled_from(["opfyldt"] * 3 + ["ikke opfyldt"])),
    st.tuples(st.just("withdraw"), st.just(""), st.integers(0, 10_000)),
)
# A prefix that nearly reaches ja, so the interesting region is actually visited.
everything = [("marker", m, "til stede") for m in MARKERS] + [("criterion", c, "opfyldt") for c in CRITERIA]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(sorted(_MODES)), board=st.booleans(), prefix=st.one_of(st.just(len(everything)), st.integers(0, len(everything))),
       steps=st.lists(step, max_size=30))
def test_no_accepted_history_claims_fornoeden_kvalitet_falsely(mode, board, prefix, steps):
    plugins = _MODES[mode]
    with tempfile.TemporaryDirectory() as tmp:
        keystore = KeyStore(Path(tmp))
        ledger, authority = Ledger.init(str(Path(tmp) / "t.db"), "Socialtilsyn Øst", keystore,
                                        policy=plugins.policy())
        with ledger:
            ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
            karen = ledger.signer("Karen", keystore)
            sup = Supervision(ledger, plugins)
            sup.record(karen, "T-1", ev.TILBUD_REGISTERED, {"tilbud": "T-1", "name": "Bostedet", "has_board": board,
                                                            "tilbud_type": "døgntilbud"})
            recorded: list[int] = []
            for kind, target, value in [*everything[:prefix], ("oekonomi", "", "opfyldt"), *steps]:
                reason = f"Markør {target} er {value}; døgntilbud, vurderet ud fra observationerne."
                if kind == "marker":
                    type_, payload = ev.MARKER_ASSESSED, {"marker": target, "verdict": value, "reason": reason}
                elif kind == "criterion":
                    type_, payload = ev.CRITERION_ASSESSED, {"criterion": target, "verdict": value, "reason": reason}
                elif kind == "oekonomi":
                    type_, payload = ev.OEKONOMI_ASSESSED, {"verdict": value, "reason": reason}
                else:
                    if not recorded:
                        continue
                    type_, payload = ev.CORRECTION, {"corrects": recorded[value % len(recorded)],
                                                     "reason": "Registreret ved en fejl."}
                try:
                    recorded.append(sup.record(karen, "T-1", type_, payload).seq)
                except ValidationError:
                    continue  # refused by a guard (or the schema): not part of the accepted history
                state = sup.state("T-1")
                fk = summarise(state, plugins.catalog)["fornoeden_kvalitet"]
                event(f"fornøden kvalitet {fk['text']}")
                if fk["value"] is not True:
                    continue
                oek = state.oekonomi_verdict()
                assert oek is not None and oek.verdict == "opfyldt", "ja without a signed økonomi opfyldt"
                for crit in MODEL.criteria():
                    decided = state.criterion_verdict(crit.id)
                    assert decided is not None and decided.verdict == "opfyldt", f"ja with {crit.id} not opfyldt"
                    for m in crit.markers:
                        v = state.marker_verdict(m.id)
                        assert v is None or v.verdict != "ikke til stede", f"ja with {m.id} ikke til stede"
                        if marker_applies(m, state):
                            assert v is not None, f"ja with {m.id} not assessed"
