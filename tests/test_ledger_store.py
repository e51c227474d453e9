"""The store suite: every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tilsyn.ledger import (AuthorizationError, ConflictError, KeyFileError, KeyStore, Ledger, StoreError,
                           ValidationError, verify_ledger)
from tilsyn.ledger.envelope import decode_statement


def karen(ledger, keystore):
    return ledger.signer("Karen", keystore)


def test_init_writes_genesis_and_key(ledger, keystore):
    events = list(ledger.read())
    # The rules in force are recorded right after the genesis event, before anything is judged by them.
    assert [e.type for e in events] == ["ledger.Genesis/1", "ledger.RulesInForce/1", "ledger.KeyRegistered/1"]
    assert events[0].prev == "0" * 64 and events[1].prev == events[0].leaf_hash.hex()
    info = ledger.registry().active_key("Karen")
    assert info.roles == {"tilsynskonsulent"}
    assert (keystore.path(info.key_id).stat().st_mode & 0o777) == 0o600


def test_init_refuses_an_existing_ledger(ledger, db_url, keystore, policy):
    before = ledger.count()
    with pytest.raises(StoreError, match="already exists"):
        Ledger.init(db_url, "Another", keystore, policy=policy)
    assert ledger.count() == before


def test_append_and_read_back_exact_bytes(ledger, keystore):
    s = karen(ledger, keystore)
    e = ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": "Beboerne fortæller", "n": 3})
    again = [x for x in ledger.read(stream="tilbud/T-1")]
    assert len(again) == 1 and again[0].statement_bytes == e.statement_bytes
    assert decode_statement(again[0].statement_bytes).payload == {"n": 3, "text": "Beboerne fortæller"}
    assert again[0].seq == 4 and again[0].statement.stream_version == 1


def test_text_is_nfc_normalised(ledger, keystore):
    s = karen(ledger, keystore)
    decomposed = "o\u0308 og a\u030a"  # ö and å typed as base letter + combining mark
    e = ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": decomposed})
    assert e.payload["text"] == "\u00f6 og \u00e5"


def test_floats_are_refused(ledger, keystore):
    s = karen(ledger, keystore)
    before = ledger.count()
    with pytest.raises(ValidationError, match="float"):
        ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": "x", "n": 1.5})
    assert ledger.count() == before


def test_schema_violation_is_refused(ledger, keystore):
    s = karen(ledger, keystore)
    with pytest.raises(ValidationError, match="test.Note/1"):
        ledger.record(s, "tilbud/T-1", "test.Note/1", {"tekst": "wrong field"})


def test_unknown_event_type_is_refused(ledger, keystore):
    with pytest.raises(ValidationError, match="unknown event type"):
        ledger.record(karen(ledger, keystore), "tilbud/T-1", "test.Nope/1", {"text": "x"})


def test_conflicting_stream_version_writes_nothing(ledger, keystore):
    s = karen(ledger, keystore)
    ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": "first"})
    stale = ledger.statement(s, "tilbud/T-1", "test.Note/1", {"text": "stale"}, stream_version=1)
    before = ledger.count()
    with pytest.raises(ConflictError, match="expected it at version 0, but it is at version 1"):
        ledger.append(s.sign(stale))
    assert ledger.count() == before


def test_batch_is_all_or_nothing(ledger, keystore):
    s = karen(ledger, keystore)
    good = [ledger.statement(s, "tilbud/T-2", "test.Note/1", {"text": f"obs {i}"}, stream_version=i + 1)
            for i in range(3)]
    bad = ledger.statement(s, "tilbud/T-2", "test.Decision/1", {"text": "påbud"}, stream_version=4)
    before = ledger.count()
    with pytest.raises(AuthorizationError, match="lacks the role"):
        ledger.append(s.sign_many([*good, bad]))
    assert ledger.count() == before
    events = ledger.append(s.sign_many(good))
    assert [e.seq for e in events] == [before + 1, before + 2, before + 3]


def test_role_is_required(ledger, keystore):
    with pytest.raises(AuthorizationError, match="needs tilsynsleder"):
        ledger.record(karen(ledger, keystore), "tilbud/T-1", "test.Decision/1", {"text": "påbud"})


def test_revoked_key_is_refused_but_old_events_stay_valid(ledger, keystore):
    s = karen(ledger, keystore)
    ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": "before"})
    ledger.revoke_key(ledger.authority_signer, "Karen", "left the authority")
    with pytest.raises(AuthorizationError, match="revoked"):
        ledger.record(s, "tilbud/T-1", "test.Note/1", {"text": "after"})
    with pytest.raises(AuthorizationError, match="no active key"):
        ledger.signer("Karen", keystore)
    assert verify_ledger(ledger.store, ledger.policy).ok


def test_unknown_key_is_refused(ledger, keystore, tmp_path):
    from tilsyn.ledger import Signer
    from tilsyn.ledger.keys import generate

    stranger = Signer("Karen", generate())
    stmt = ledger.statement(stranger, "tilbud/T-1", "test.Note/1", {"text": "forged"})
    with pytest.raises(AuthorizationError, match="not registered"):
        ledger.append(stranger.sign(stmt))


def test_signature_is_checked_for_foreign_statements(ledger, keystore):
    from dataclasses import replace

    s = karen(ledger, keystore)
    signed = s.sign(ledger.statement(s, "tilbud/T-1", "test.Note/1", {"text": "x"}))
    foreign = replace(signed, signature=bytes(64), signer_public_key=None)
    with pytest.raises(AuthorizationError, match="does not verify"):
        ledger.append(foreign)
    assert ledger.append(replace(signed, signer_public_key=None))[0].seq == 4


def test_role_grant_takes_effect(ledger, keystore):
    ledger.grant_role(ledger.authority_signer, "Karen", "tilsynsleder")
    e = ledger.record(karen(ledger, keystore), "tilbud/T-1", "test.Decision/1", {"text": "påbud"})
    assert e.seq == 5


def test_passphrase_protected_keys(ledger, keystore):
    ledger.register_key(ledger.authority_signer, "Lone", ["tilsynsleder"], keystore, passphrase="hemmelig")
    assert ledger.signer("Lone", keystore, "hemmelig").actor == "Lone"
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        ledger.signer("Lone", keystore, "forkert")
    with pytest.raises(KeyFileError, match="passphrase-protected"):
        ledger.signer("Lone", keystore)


def test_missing_key_file(ledger, tmp_path):
    with pytest.raises(KeyFileError, match="no private key file"):
        ledger.signer("Karen", KeyStore(tmp_path / "elsewhere"))


def test_recorded_at_never_decreases_and_verify_is_clean(ledger, keystore):
    s = karen(ledger, keystore)
    for i in range(20):
        ledger.record(s, f"tilbud/T-{i % 3}", "test.Note/1", {"text": f"obs {i}"})
    times = [e.recorded_at for e in ledger.read()]
    assert times == sorted(times)
    report = verify_ledger(ledger.store, ledger.policy)
    assert report.ok, report.problems
    assert report.events == 23 and report.head_hash == ledger.head().leaf_hash.hex()


def test_open_missing_ledger_is_a_clear_error(tmp_path, policy):
    with pytest.raises(StoreError, match="no ledger at"):
        Ledger.open(str(tmp_path / "nothing.db"), policy)


def test_malformed_url_is_a_clear_error(policy):
    with pytest.raises(StoreError, match="unsupported database URL"):
        Ledger.open("mysql://nowhere/db", policy)


def test_append_batches_signs_in_a_worker_and_commits_each_batch(ledger, keystore):
    s = karen(ledger, keystore)
    before = ledger.count()

    def batches():
        for b in range(3):
            yield [ledger.statement(s, f"tilbud/B-{i}", "test.Note/1", {"text": f"obs {b}.{i}"}, stream_version=b + 1)
                   for i in range(50)]

    stored = list(ledger.append_batches(s, batches()))
    assert [len(b) for b in stored] == [50, 50, 50]
    assert ledger.count() == before + 150
    assert verify_ledger(ledger.store, ledger.policy).ok


def test_a_foreign_statement_is_read_from_its_bytes(ledger, keystore):
    """Fields that disagree with the signed bytes cannot slip into the index columns."""
    import msgspec

    from tilsyn.ledger import SignedStatement

    s = karen(ledger, keystore)
    signed = s.sign(ledger.statement(s, "tilbud/T-1", "test.Note/1", {"text": "signed text"}))
    lying = SignedStatement(msgspec.structs.replace(signed.statement, stream="tilbud/T-9"), signed.data,
                            signed.signature)
    event = ledger.append(lying)[0]
    assert event.stream == "tilbud/T-1"
    assert [e.seq for e in ledger.read(stream="tilbud/T-9")] == []
