"""Properties of the tilbud projection: snapshots are caches, never a source of truth.

Random, valid-ish histories of one tilbud — visits, observations, verdicts, risk colours, decisions
lifted and fulfilled, plan items added, revised, approved and given results, indikator checks,
monitoring, and corrections with and without a replacement — are folded in different ways that must
all give the same bytes:

* all at once, or the first k events then the rest onto a snapshot (``dump``/``load``), for every k;
* the state as of seq N (only events with seq ≤ N) equals the state right after the N-th event of the
  incremental fold;
* against a real ledger: ``Supervision.state`` with snapshots equals it without, and as of any seq
  equals folding the events up to there.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tilsyn.ledger import KeyStore, Ledger
from tilsyn.plugins import kvalitetsmodel, opfoelgningsplan, regional_1_3, supervision
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards import projection
from tilsyn.standards.projection import REPLACEABLE_TYPES, EventView, TilbudState, apply, dump, fold, load
from tilsyn.standards.service import Supervision

MODEL = {"standard": "kvalitetsmodel-2025", "standard_version": "2025.1"}
REGIONAL = {"standard": "regional-1.3", "standard_version": "2020-11-13"}
PLAN = {"standard": "opfoelgningsplan", "standard_version": "1"}

texts = st.sampled_from(["Borgerne fortæller om faste rutiner.", "Medarbejderne kender tilgangen.",
                         "Referaterne er ikke opdaterede.", "Ændret efter samtale med pårørende.", "x"])
days = st.sampled_from(["2021-06-30", "2022-03-01", "2024-05-01", "2025-06-01", "2025-09-30"])
visits = st.sampled_from(["B-1", "B-2", "B-3"])
markers = st.sampled_from(["1.1.1", "2.3.1", "2.3.2", "3.1.2", "4.1.1"])
criteria = st.sampled_from(["1.1", "2.3", "3.1", "4.1"])
items = st.sampled_from(["1", "2", "3"])
actors = st.sampled_from(["Karen", "Lars", "Tove"])


@dataclass(frozen=True)
class Ref:
    """A reference to the seq of the i-th event of a history, resolved once seqs are known."""

    index: int


def resolve(value: Any, seqs: list[int]) -> Any:
    if isinstance(value, Ref):
        return seqs[value.index]
    if isinstance(value, dict):
        return {k: resolve(v, seqs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, seqs) for v in value]
    return value


def payloads(draw, type: str, earlier: list[tuple[str, dict]]) -> dict[str, Any]:
    """A schema-valid payload of ``type``; references point at ``earlier`` events."""
    decisions = [i for i, (t, _) in enumerate(earlier) if t == ev.DECISION_ISSUED]
    if type == ev.VISIT_STARTED:
        return {"visit": draw(visits), "kind": draw(st.sampled_from(ev.VISIT_KINDS))}
    if type == ev.VISIT_COMPLETED:
        return {"visit": draw(visits)}
    if type == ev.VISIT_ABORTED:
        return {"visit": draw(visits), "reason": draw(texts)}
    if type == ev.OBSERVATION:
        marker = draw(markers)
        extra = {}
        if draw(st.booleans()):
            extra["element"] = f"{marker}.{draw(st.sampled_from('ab'))}"
        if draw(st.booleans()):
            extra["visit"] = draw(visits)
        return {"marker": marker, "source": draw(st.sampled_from(["borger", "medarbejder", "ledelse", "dokumenter"])),
                "method": draw(st.sampled_from(["interview", "observation", "dokumentanalyse"])),
                "text": draw(texts), **extra, **MODEL,
                **({"interview_form": draw(st.sampled_from(ev.INTERVIEW_FORMS))} if draw(st.booleans()) else {})}
    if type == ev.MARKER_ASSESSED:
        return {"marker": draw(markers), "verdict": draw(st.sampled_from(ev.MARKER_VERDICTS)), "reason": draw(texts),
                **MODEL}
    if type == ev.CRITERION_ASSESSED:
        return {"criterion": draw(criteria), "verdict": draw(st.sampled_from(ev.CRITERION_VERDICTS)),
                "reason": draw(texts), **MODEL}
    if type == ev.RISK:
        extra = {"criterion": draw(criteria)} if draw(st.booleans()) else {}
        return {"colour": draw(st.sampled_from(ev.RISK_COLOURS)), "reason": draw(texts), **extra, **MODEL}
    if type == ev.DECISION_ISSUED:
        extra = {"deadline": draw(days)} if draw(st.booleans()) else {}
        varsler = [i for i, (t, _) in enumerate(earlier) if t == ev.VARSEL]
        if draw(st.booleans()):  # legal (issue 13): the written decision's parts
            extra |= {"indhold": draw(texts), "hjemmel": draw(texts), "klagevejledning": draw(texts),
                      **({"varsel": Ref(draw(st.sampled_from(varsler)))} if varsler else {"uden_partshoering": "x"})}
        return {"kind": draw(st.sampled_from(ev.DECISION_KINDS)),
                "criteria": draw(st.lists(criteria, min_size=1, max_size=3, unique=True)), "reason": draw(texts),
                "rule_versions": {"supervision": "1.0.0"}, **extra, **MODEL}
    if type in (ev.DECISION_LIFTED, ev.DECISION_FULFILLED):
        target = Ref(draw(st.sampled_from(decisions))) if decisions else 999_999
        return {"decision": target, "reason": draw(texts)}
    if type == ev.PLAN_ITEM_ADDED:
        extra = {"answers": Ref(draw(st.sampled_from(decisions)))} if decisions and draw(st.booleans()) else {}
        return {"item": draw(items), "priority": draw(st.integers(1, 3)), "tema": "Sundhed og trivsel",
                "emne": draw(texts), "maal": draw(texts), "hvad": draw(texts), "hvordan": draw(texts),
                "start": "2025-03-15", "slut": draw(days), "dokumentation": draw(texts), "hvem": "Jan Hoel",
                **extra, **PLAN}
    if type == ev.PLAN_ITEM_REVISED:
        changes = draw(st.dictionaries(st.sampled_from(["hvem", "maal", "slut", "priority"]),
                                       st.one_of(texts, st.integers(1, 3)), min_size=1, max_size=2))
        return {"item": draw(items), "changes": changes, "reason": draw(texts)}
    if type == ev.PLAN_APPROVED:
        return {"plan_revision": draw(st.integers(1, 8))}
    if type == ev.PLAN_RESULT:
        return {"item": draw(items), "resultat": draw(texts)}
    if type == ev.INDIKATOR_CHECKED:
        return {"indikator": draw(st.integers(1, 9)), "verdict": draw(st.sampled_from(ev.CRITERION_VERDICTS)),
                "reason": draw(texts), **REGIONAL}
    if type == ev.MONITORING_COMPLETED:
        return {"date": draw(days), **REGIONAL}
    if type == ev.OEKONOMI_ASSESSED:
        return {"verdict": draw(st.sampled_from(ev.CRITERION_VERDICTS)), "reason": draw(texts)}
    if type == ev.DESIGN_WIDENED:
        marker = draw(markers)
        extra = {"criterion": draw(criteria)} if draw(st.booleans()) else {}
        return {"doubt": draw(texts), "elements": [f"{marker}.a"],
                "ways": [{"marker": marker, "method": "interview", "source": "pårørende"}], **extra, **MODEL}
    # -- legal (issue 13)
    varsler = [i for i, (t, _) in enumerate(earlier) if t == ev.VARSEL]
    if type == ev.VARSEL:
        extra = {"deadline": draw(days)} if draw(st.booleans()) else {}
        return {"kind": draw(st.sampled_from(ev.DECISION_KINDS)), "criteria": [draw(criteria)], "indhold": draw(texts),
                "hjemmel": draw(texts), "reason": draw(texts), "hoeringsfrist": draw(days), **extra, **MODEL}
    if type == ev.HOERINGSSVAR:
        target = Ref(draw(st.sampled_from(varsler))) if varsler else 999_999
        return {"varsel": target, "text": draw(texts), "on_behalf": draw(st.booleans())}
    if type in (ev.DECISION_EXTENDED, ev.DECISION_CONFIRMED):
        target = Ref(draw(st.sampled_from(decisions))) if decisions else 999_999
        return {"decision": target, "reason": draw(texts),
                **({"deadline": draw(days)} if type == ev.DECISION_EXTENDED else {})}
    if type == ev.ANBEFALING:
        return {"criterion": draw(criteria), "text": draw(texts)}
    raise AssertionError(type)


ACTS = [t for t in ev.PAYLOAD_TYPES if t not in (ev.TILBUD_REGISTERED, ev.CORRECTION)]


@st.composite
def histories(draw, max_size: int = 40) -> list[tuple[str, dict, str]]:
    """``(type, payload, actor)`` steps of one tilbud, starting with its registration."""
    steps: list[tuple[str, dict, str]] = [(ev.TILBUD_REGISTERED, {
        "tilbud": "T-1", "name": "Bostedet Solsikken", "tilbud_type": draw(st.sampled_from(["døgntilbud", "ambulant"])),
        "has_board": draw(st.booleans()), "regional_standards": ["regional-1.3"],
        **draw(st.sampled_from([{}, {"status": "godkendt", "godkendt_dato": "2019-06-01", "pladser": 8}]))}, "Karen")]
    withdrawn: set[int] = set()
    for _ in range(draw(st.integers(0, max_size))):
        earlier = [(t, p) for t, p, _ in steps]
        correctable = [i for i, (t, _) in enumerate(earlier) if t != ev.CORRECTION and i not in withdrawn]
        if correctable and draw(st.integers(0, 5)) == 0:
            target = draw(st.sampled_from(correctable))
            withdrawn.add(target)
            payload = {"corrects": Ref(target), "reason": draw(texts)}
            kind = earlier[target][0]
            if kind in REPLACEABLE_TYPES and draw(st.booleans()):
                payload["replacement"] = payloads(draw, kind, earlier[:target])
            steps.append((ev.CORRECTION, payload, draw(actors)))
        else:
            type = draw(st.sampled_from(ACTS))
            steps.append((type, payloads(draw, type, earlier), draw(actors)))
    return steps


def as_events(steps, draw_gap=None) -> list[EventView]:
    """EventViews with increasing seqs (gaps, as other tilbud interleave) and recorded times."""
    seqs, seq = [], 0
    for i, _ in enumerate(steps):
        seq += 1 + (draw_gap[i] if draw_gap else 0)
        seqs.append(seq)
    return [EventView(seqs[i], t, resolve(p, seqs), actor, f"2025-03-{1 + i % 28:02d}T10:00:00.000000Z",
                      f"2025-04-01T10:00:{i % 60:02d}.{i:06d}Z", i + 1)
            for i, (t, p, actor) in enumerate(steps)]


@st.composite
def event_histories(draw) -> list[EventView]:
    steps = draw(histories())
    gaps = draw(st.lists(st.integers(0, 3), min_size=len(steps), max_size=len(steps)))
    return as_events(steps, gaps)


@settings(max_examples=150, deadline=None)
@given(event_histories())
def test_folding_onto_a_snapshot_equals_folding_from_zero(events):
    whole = dump(fold(events))
    for k in range(len(events) + 1):
        snapshot = load(dump(fold(events[:k])))
        assert dump(fold(events[k:], snapshot)) == whole, f"differs when resuming after {k} events"


@settings(max_examples=150, deadline=None)
@given(event_histories())
def test_as_of_seq_equals_the_state_after_the_first_n_events(events):
    incremental = TilbudState()
    for n, e in enumerate(events, 1):
        apply(incremental, e)
        as_of = fold(x for x in events if x.seq <= e.seq)
        assert dump(as_of) == dump(incremental), f"as of seq {e.seq} differs from the state after {n} events"
        # A seq between two events (another tilbud's) gives the same state as the one before it.
        assert dump(fold(x for x in events if x.seq <= e.seq + 0.5)) == dump(incremental)


def test_snapshot_bytes_round_trip_a_rich_state():
    """A hand-written history touching every kind of fact survives dump → load → dump."""
    steps = [
        (ev.TILBUD_REGISTERED, {"tilbud": "T-1", "name": "N", "tilbud_type": "døgntilbud", "has_board": True}, "Karen"),
        (ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede", "reason": "r", **MODEL}, "Karen"),
        (ev.CRITERION_ASSESSED, {"criterion": "2.3", "verdict": "ikke opfyldt", "reason": "r", **MODEL}, "Karen"),
        (ev.DECISION_ISSUED, {"kind": "påbud", "criteria": ["2.3"], "reason": "r", "deadline": "2025-06-01",
                              **MODEL}, "Lars"),
        (ev.PLAN_ITEM_ADDED, {"item": "1", "priority": 1, "tema": "t", "emne": "e", "maal": "m", "hvad": "h",
                              "hvordan": "h", "start": "2025-03-15", "slut": "2025-05-31", "dokumentation": "d",
                              "hvem": "J", "answers": Ref(3), **PLAN}, "Tove"),
        (ev.PLAN_ITEM_REVISED, {"item": "1", "changes": {"priority": 2}, "reason": "r"}, "Tove"),
        (ev.PLAN_APPROVED, {"plan_revision": 2}, "Tove"),
        (ev.CORRECTION, {"corrects": Ref(1), "reason": "r", "replacement": {
            "marker": "2.3.1", "verdict": "til stede", "reason": "r2", **MODEL}}, "Karen"),
    ]
    state = fold(as_events(steps))
    assert state.withdrawn == {2: 8} and state.types[8] == ev.CORRECTION
    again = load(dump(state))
    assert again == state and dump(again) == dump(state)


# ------------------------------------------------------------------------------------------------
# Against a real ledger (SQLite): snapshots written by Supervision are only a shortcut
# ------------------------------------------------------------------------------------------------

PLUGINS = load_plugins([("kvalitetsmodel", kvalitetsmodel), ("opfoelgningsplan", opfoelgningsplan),
                        ("regional_1_3", regional_1_3), ("supervision", supervision)])


def _append(ledger: Ledger, signer, steps) -> None:
    """Append the history as signed events (the kernel checks schemas and roles; guards are not run,
    so the history may be as odd as the generator makes it)."""
    seqs: list[int] = []
    for type, payload, _actor in steps:
        seqs.append(ledger.record(signer, ev.tilbud_stream("T-1"), type, resolve(payload, seqs)).seq)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(max_size=25), st.data())
def test_supervision_state_with_snapshots_equals_without(steps, data):
    with tempfile.TemporaryDirectory() as home:
        keystore = KeyStore(f"{home}/keys")
        ledger, authority = Ledger.init(f"sqlite:///{home}/tilsyn.db", "Socialtilsyn Øst", keystore,
                                        policy=PLUGINS.policy())
        try:
            ledger.register_key(authority, "Alle", ["tilsynskonsulent", "tilsynsleder", "tilbudsleder"], keystore)
            _append(ledger, ledger.signer("Alle", keystore), steps)
            S = Supervision(ledger, PLUGINS)
            events = S.events("T-1")
            assert len(events) == len(steps)

            fresh = dump(S.state("T-1", use_snapshots=False))
            assert fresh == dump(fold(events))
            # A snapshot part-way, written by hand …
            k = data.draw(st.integers(1, len(events)), label="snapshot after k events")
            S.snapshots.save(ev.tilbud_stream("T-1"), fold(events[:k]))
            assert dump(S.state("T-1", use_snapshots=True)) == fresh
            # … and one written by Supervision itself when enough events were folded past the last.
            with mock.patch("tilsyn.standards.service.SNAPSHOT_EVERY", 1):
                assert dump(S.state("T-1", use_snapshots=True)) == fresh
            assert S.snapshots.load(ev.tilbud_stream("T-1")).last_seq == events[-1].seq
            assert dump(S.state("T-1", use_snapshots=True)) == fresh

            for n, e in enumerate(events, 1):
                expected = dump(fold(events[:n]))
                assert dump(S.state("T-1", as_of=e.seq, use_snapshots=False)) == expected
                assert dump(S.state("T-1", as_of=e.seq, use_snapshots=True)) == expected
        finally:
            ledger.close()


def test_a_snapshot_of_another_projection_version_is_ignored(tmp_path):
    keystore = KeyStore(tmp_path / "keys")
    ledger, authority = Ledger.init(f"sqlite:///{tmp_path}/tilsyn.db", "Socialtilsyn Øst", keystore,
                                    policy=PLUGINS.policy())
    try:
        ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
        karen = ledger.signer("Karen", keystore)
        S = Supervision(ledger, PLUGINS)
        S.record(karen, "T-1", ev.TILBUD_REGISTERED,
                 {"tilbud": "T-1", "name": "N", "tilbud_type": "døgntilbud", "has_board": False})
        S.record(karen, "T-1", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "til stede", "reason": "Set og hørt."})
        bogus = S.state("T-1", use_snapshots=False)
        bogus.name = "Forkert navn fra en gammel fold"
        with mock.patch.object(projection, "PROJECTION_VERSION", projection.PROJECTION_VERSION + 1):
            S.snapshots.save(ev.tilbud_stream("T-1"), bogus)
            assert S.state("T-1").name == "Forkert navn fra en gammel fold"  # that version would use it
        assert S.state("T-1").name == "N"  # this version does not
    finally:
        ledger.close()
