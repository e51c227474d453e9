"""Personal data: sealed per citizen, erasable, while every signature, hash and proof still verifies."""

from __future__ import annotations

import base64
import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tilsyn.ledger import KeyFileError, KeyStore, Ledger, verify_ledger
from tilsyn.ledger.personal import is_sealed
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.service import Supervision

PLUGINS = load_plugins()
KEK = base64.b64decode(base64.b64encode(b"k" * 32))


def _setup(path, kek=KEK, url=None):
    """A ledger (SQLite in ``path``, or at ``url``) with Karen (tilsynskonsulent), Lone (tilsynsleder), T-1."""
    keystore = KeyStore(path / "home")
    ledger, authority = Ledger.init(url or f"sqlite:///{path / 'tilsyn.db'}", "Socialtilsyn Øst", keystore,
                                    policy=PLUGINS.policy(), kek=kek)
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.register_key(authority, "Lone", ["tilsynsleder"], keystore)
    karen, lone = ledger.signer("Karen", keystore), ledger.signer("Lone", keystore)
    sup = Supervision(ledger, PLUGINS)
    sup.record(karen, "T-1", ev.TILBUD_REGISTERED,
               {"tilbud": "T-1", "name": "Lærkehøj", "tilbud_type": "døgntilbud", "has_board": False})
    sup.record(karen, "T-1", ev.VISIT_STARTED, {"visit": "B1", "kind": "uanmeldt"})  # observations belong to it
    return ledger, sup, karen, lone


def _observe(sup, karen, subject, text):
    return sup.record(karen, "T-1", ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "interview",
                                                      "text": text, "subject": subject})


def _raw_bytes(path) -> bytes:
    out = b""
    for name in ("tilsyn.db", "tilsyn.db-wal"):
        f = path / name
        if f.exists():
            out += f.read_bytes()
    return out


def test_personal_text_is_sealed_before_signing(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    event = _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt i køkkenet")
    assert is_sealed(event.payload["text"])
    assert b"Anders" not in event.statement_bytes
    state = sup.state("T-1")
    assert sup.summary(state)["themes"][1]["criteria"][2]["markers"][0]["observations"][0]["text"] == \
        "Anders Jensen blev fastholdt i køkkenet"
    assert b"Anders" not in _raw_bytes(tmp_path)
    assert verify_ledger(ledger.store, ledger.policy).ok


def test_guards_read_the_plain_text(tmp_path):
    """A justification is measured before sealing: a too-short reason is refused even with a subject."""
    _, sup, karen, _ = _setup(tmp_path)
    with pytest.raises(Exception, match="faglig begrundelse"):
        sup.record(karen, "T-1", ev.MARKER_ASSESSED, {"marker": "2.3.1", "verdict": "ikke til stede",
                                                       "reason": "kort", "subject": "B-17"})


def test_erasure_keeps_every_proof_and_shows_a_placeholder(tmp_path):
    ledger, sup, karen, lone = _setup(tmp_path)
    _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt")
    _observe(sup, karen, "B-18", "Birte Hansen trives")
    wrapped_before = sqlite3.connect(tmp_path / "tilsyn.db").execute(
        "select wrapped from subject_keys where subject='B-17'").fetchone()[0]
    erasure = ledger.erase_subject(lone, "B-17", "GDPR art. 17")
    assert erasure.payload == {"reason": "GDPR art. 17", "subject": "B-17"}
    assert verify_ledger(ledger.store, ledger.policy).ok
    texts = [o["text"] for o in sup.summary(sup.state("T-1"))["themes"][1]["criteria"][2]["markers"][0]["observations"]]
    assert texts[0] == f"«slettet {erasure.recorded_at[:10]}, GDPR art. 17»"
    assert texts[1] == "Birte Hansen trives"
    assert wrapped_before not in _raw_bytes(tmp_path)
    with pytest.raises(Exception, match="erased already"):
        ledger.erase_subject(lone, "B-17", "GDPR art. 17")


def test_only_tilsynsleder_or_admin_may_erase(tmp_path):
    from tilsyn.ledger import AuthorizationError

    ledger, sup, karen, _ = _setup(tmp_path)
    _observe(sup, karen, "B-17", "tekst")
    with pytest.raises(AuthorizationError, match="lacks the role"):
        ledger.erase_subject(karen, "B-17", "GDPR art. 17")
    assert ledger.vault.status("B-17").wrapped is not None


def test_a_reader_without_the_role_sees_a_placeholder(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt")
    outsider = Supervision(ledger, PLUGINS, may_see_personal=False)
    obs = outsider.summary(outsider.state("T-1"))["themes"][1]["criteria"][2]["markers"][0]["observations"][0]
    assert obs["text"] == "«personoplysning skjult»"
    assert ledger.vault.status("B-17").wrapped is not None  # hiding erases nothing


def test_a_ciphertext_moved_into_another_event_does_not_open(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    original = _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt")
    moved = _observe(sup, karen, "B-17", original.payload["text"])  # already sealed: stored as it is
    assert moved.payload["text"] == original.payload["text"]
    with pytest.raises(Exception, match="does not decrypt"):
        ledger.reveal(moved.payload["text"], "tilbud/T-1", moved.statement.stream_version, "text")
    assert ledger.reveal(original.payload["text"], "tilbud/T-1", original.statement.stream_version, "text") == \
        "Anders Jensen blev fastholdt"


def test_a_wrong_kek_is_a_clear_error(tmp_path):
    ledger, sup, karen, _ = _setup(tmp_path)
    event = _observe(sup, karen, "B-17", "Anders")
    other = Ledger.open(f"sqlite:///{tmp_path / 'tilsyn.db'}", PLUGINS.policy(), kek=os.urandom(32))
    with pytest.raises(KeyFileError, match="wrong key-encryption key"):
        other.reveal(event.payload["text"], "tilbud/T-1", event.statement.stream_version, "text")
    no_kek = Ledger.open(f"sqlite:///{tmp_path / 'tilsyn.db'}", PLUGINS.policy())
    with pytest.raises(KeyFileError, match="no key-encryption key"):
        no_kek.reveal(event.payload["text"], "tilbud/T-1", event.statement.stream_version, "text")


names = st.sampled_from(["Anders Jensen", "Birte Hansen", "Carl Nielsen", "Dorthe Øster", "Ejnar Ålund"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.integers(0, 4), names, st.integers(0, 999)), min_size=1, max_size=12),
       erase=st.sets(st.integers(0, 4)))
def test_erasing_any_subset_of_subjects(tmp_path_factory, records, erase):
    path = tmp_path_factory.mktemp("personal")
    ledger, sup, karen, lone = _setup(path)
    written = []
    for subject_no, name, n in records:
        text = f"{name} nr. {n:03d} fortæller om forløbet"
        _observe(sup, karen, f"B-{subject_no}", text)
        written.append((f"B-{subject_no}", text))
    sup.state("T-1", use_snapshots=True)
    sup.snapshots.save("tilbud/T-1", sup.state("T-1", use_snapshots=False))
    erased = {f"B-{i}" for i in erase if any(s == f"B-{i}" for s, _ in written)}
    for subject in sorted(erased):
        ledger.erase_subject(lone, subject, "GDPR art. 17")
    assert verify_ledger(ledger.store, ledger.policy).ok
    raw = _raw_bytes(path)
    for subject, text in written:
        assert text.encode() not in raw  # neither erased nor kept plaintext is ever on disk
    shown = [o["text"] for o in sup.summary(sup.state("T-1"))["themes"][1]["criteria"][2]["markers"][0]["observations"]]
    for (subject, text), seen in zip(written, shown):
        if subject in erased:
            assert seen.startswith("«slettet ")
        else:
            assert seen == text
    ledger.close()


def test_a_replacement_naming_a_subject_is_sealed_too(tmp_path):
    ledger, sup, karen, lone = _setup(tmp_path)
    original = _observe(sup, karen, "B-17", "Anders Jensen blev fastholdt")
    correction = sup.record(karen, "T-1", ev.CORRECTION, {
        "corrects": original.seq, "reason": "Forkert tidspunkt citeret.",
        "replacement": {"marker": "2.3.1", "source": "borger", "method": "interview", "subject": "B-17",
                        "text": "Anders Jensen blev fastholdt om aftenen"}})  # standard filled in
    assert is_sealed(correction.payload["replacement"]["text"])
    assert b"om aftenen" not in _raw_bytes(tmp_path)
    texts = [o["text"] for o in sup.summary(sup.state("T-1"))["themes"][1]["criteria"][2]["markers"][0]["observations"]]
    assert texts == ["Anders Jensen blev fastholdt om aftenen"]
    ledger.erase_subject(lone, "B-17", "GDPR art. 17")
    texts = [o["text"] for o in sup.summary(sup.state("T-1"))["themes"][1]["criteria"][2]["markers"][0]["observations"]]
    assert texts[0].startswith("«slettet ")
    assert verify_ledger(ledger.store, ledger.policy).ok
