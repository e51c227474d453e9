"""Evidence bundles: a tilbud's events handed to an outsider, complete, checked with no database.

The attacker here is often the authority itself: it holds the ledger key and every signer's key (the
fixture's key home), so a forged bundle can be re-signed and re-proved from end to end ("resealed").
What must still fail is everything that would let two verifiers read one file differently, and every
omission the checkpoint's StreamHeads event commits against.
"""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_policy
from tilsyn.ledger import (EventType, KeyStore, Ledger, LedgerError, ValidationError, create_checkpoint, export_bundle,
                           keys, merkle)
from tilsyn.ledger import verify_bundle
from tilsyn.ledger.bundle import BundleFormatError, encode_bundle
from tilsyn.ledger.checkpoint import checkpoint_body, parse_checkpoint, sign_note
from tilsyn.ledger.checkpoints import note_key_name
from tilsyn.ledger.envelope import Record, decode_record, decode_statement, encode_record
from tilsyn.ledger.identity import GENESIS, KEY_REGISTERED, KEY_REVOKED, ROLE_GRANTED

STREAM = "tilbud/T-1001"
AUTHORITY = "Socialtilsyn Øst"


def build(ledger: Ledger, keystore: KeyStore) -> Ledger:
    """A tilbud with a visit, a påbud that is corrected and later lifted, amid another tilbud's events and
    key churn: a role grant, a key revoked after it signed, a person who never touches T-1001."""
    authority = ledger.authority_signer
    ledger.register_key(authority, "Lene", ["tilsynsleder"], keystore)
    ledger.register_key(authority, "Ole", ["tilsynskonsulent"], keystore)
    karen, lene, ole = (ledger.signer(n, keystore) for n in ("Karen", "Lene", "Ole"))
    for i in range(3):
        ledger.record(karen, STREAM, "test.Note/1", {"text": f"observation {i}", "n": i})
        ledger.record(ole, "tilbud/T-2002", "test.Note/1", {"text": f"elsewhere {i}"})
    ledger.grant_role(authority, "Karen", "tilsynsleder")
    ledger.record(lene, STREAM, "test.Decision/1", {"text": "påbud: bemanding"})
    ledger.record(karen, STREAM, "test.Note/1", {"text": "rettelse: påbuddet gælder bemanding om natten", "n": 9})
    ledger.revoke_key(authority, "Lene", "fratrådt")
    ledger.record(karen, STREAM, "test.Decision/1", {"text": "påbud ophævet: bemanding er i orden"})
    create_checkpoint(ledger, ledger.log)
    return ledger


@pytest.fixture
def supervised(ledger, keystore):
    return build(ledger, keystore)


@pytest.fixture
def local(tmp_path, keystore):
    """The same on SQLite only: most checks here are about the file, not the backend."""
    ledger, authority = Ledger.init(f"sqlite:///{tmp_path / 'b.db'}", AUTHORITY, keystore, policy=make_policy())
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    ledger.authority_signer = authority
    ledger.log = ledger.log_signer(keystore)
    ledger.keystore = keystore
    yield build(ledger, keystore)
    ledger.close()


def load(data: bytes) -> dict:
    return json.loads(data)


def dump(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def statements(doc: dict):
    for r in doc["records"]:
        yield r["seq"], decode_statement(decode_record(base64.b64decode(r["record"])).statement)


def fails(doc_or_bytes, *phrases: str) -> str:
    report = verify_bundle(doc_or_bytes if isinstance(doc_or_bytes, bytes) else dump(doc_or_bytes))
    assert not report.ok, "the tampering went unnoticed"
    text = "\n".join(p.message for p in report.problems)
    for phrase in phrases:
        assert phrase in text, text
    return report.reason


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def reseal(ledger: Ledger, doc: dict, replace: dict[int, bytes], *, note_name: str | None = None,
           origin: str | None = None) -> dict:
    """The authority's forgery: records replaced, tree, proofs and checkpoint recomputed and re-signed."""
    size = parse_checkpoint(doc["checkpoint"].split("\n\n")[0] + "\n").size
    leaves = [replace.get(e.seq, e.record_bytes) for e in ledger.read(until_seq=size)]
    root = merkle.root(leaves)
    name = note_name or note_key_name(origin or ledger.origin)
    note = sign_note(checkpoint_body(origin or ledger.origin, size, root), name, ledger.log.private_key)
    records = [{"seq": r["seq"], "record": b64(leaves[r["seq"] - 1]),
                "proof": [b64(p) for p in merkle.inclusion_proof(leaves, r["seq"] - 1)]} for r in doc["records"]]
    return dict(doc, checkpoint=note, records=records)


def restate(ledger: Ledger, seq: int, statement_bytes: bytes, actor: str) -> bytes:
    """Record ``seq`` with other statement bytes, signed by ``actor``'s own key (the forger holds it)."""
    event = next(ledger.read(after_seq=seq - 1, until_seq=seq))
    signer = ledger.authority_signer if actor == AUTHORITY else ledger.signer(actor, ledger.keystore)
    raw = encode_record(Record(seq, event.recorded_at, event.prev, statement_bytes, signer.private_key.sign(statement_bytes)))
    return raw


def stream_seqs(doc: dict, stream: str = STREAM) -> list[int]:
    return [seq for seq, s in statements(doc) if s.stream == stream]


# -- honest bundles ----------------------------------------------------------------------------
def test_round_trip(supervised):
    data = export_bundle(supervised, STREAM)
    report = verify_bundle(data)
    assert report.ok, report.problems
    doc = load(data)
    stmts = dict(statements(doc))
    assert [s.stream_version for s in stmts.values() if s.stream == STREAM] == [1, 2, 3, 4, 5, 6]
    # Every key event up to the checkpoint, Ole's included: completeness, not a closure.
    key_types = [(s.type, s.payload.get("name")) for s in stmts.values() if s.stream == "ledger/keys"]
    assert key_types == [(GENESIS, None), (KEY_REGISTERED, "Karen"), (KEY_REGISTERED, "Lene"),
                         (KEY_REGISTERED, "Ole"), (ROLE_GRANTED, "Karen"), (KEY_REVOKED, "Lene")]
    assert [s.type for s in stmts.values() if s.stream == "ledger/policy"] == ["ledger.RulesInForce/1"]
    last = max(stmts)
    assert stmts[last].type == "ledger.StreamHeads/1" and last == report.checkpoint_size == supervised.count()
    assert not any(s.stream == "tilbud/T-2002" for s in stmts.values())
    assert (report.events, report.key_events, report.policy_events, report.checkpoint_number) == (6, 6, 1, 1)
    assert [h["stream"] for h in doc["heads"]] == sorted(h["stream"] for h in doc["heads"])
    assert report.proves().startswith(f"{STREAM}: 6 events, complete with 6 key events and 1 rules events "
                                      f"as of checkpoint 1, size {last}, signed at 20")


def test_export_needs_a_checkpoint_of_the_whole_ledger(local, keystore):
    local.record(local.signer("Karen", keystore), "tilbud/T-2002", "test.Note/1", {"text": "x"})
    with pytest.raises(LedgerError, match="no signed checkpoint covers the whole ledger"):
        export_bundle(local, STREAM)
    report = verify_bundle(export_bundle(local, STREAM, local.log))
    assert report.ok and report.checkpoint_number == 2
    with pytest.raises(LedgerError, match="no events"):
        export_bundle(local, "tilbud/T-9999")


def test_an_export_after_a_revocation_carries_it(local, keystore):
    local.revoke_key(local.authority_signer, "Ole", "orlov")
    doc = load(export_bundle(local, STREAM, local.log))
    assert ("ledger.KeyRevoked/1", "Ole") in [(s.type, s.payload.get("name")) for _, s in statements(doc)]
    assert verify_bundle(dump(doc)).ok


def test_changed_rules_are_recorded_before_the_next_append(local, keystore):
    policy = make_policy()
    policy.register(EventType("test.Extra/1", frozenset({"tilsynsleder"})))
    policy.set_components(plugins={"extra": "1.0"})
    with Ledger.open(local.store.engine.url.render_as_string(hide_password=False), policy) as other:
        event = other.record(other.signer("Karen", keystore), STREAM, "test.Note/1", {"text": "efter opdatering"})
        rules = list(other.read(stream="ledger/policy"))
        assert len(rules) == 2 and rules[-1].seq == event.seq - 1 and rules[-1].actor == "Karen"
        assert rules[-1].payload["plugins"] == {"extra": "1.0"}
        assert rules[-1].payload["types"]["test.Extra/1"] == {"owner": "ledger", "roles": ["tilsynsleder"]}
        doc = load(export_bundle(other, STREAM, local.log))
    assert verify_bundle(dump(doc)).ok
    assert sum(1 for _, s in statements(doc) if s.type == "ledger.RulesInForce/1") == 2


def test_rules_nobody_vouches_for_stop_the_append(local, keystore):
    local.register_key(local.authority_signer, "Per", ["tilbudsleder"], keystore)
    # A tilbudsleder may record them too; a key without an authority-wide role may not (nobody here).
    policy = make_policy()
    policy.set_components(plugins={"changed": "2"})
    with Ledger.open(local.store.engine.url.render_as_string(hide_password=False), policy) as other:
        before = other.count()
        stranger = keys.generate()
        from tilsyn.ledger import Signer
        s = Signer("Nobody", stranger)
        with pytest.raises(ValidationError, match="rules in force"):
            other.append(s.sign(other.statement(s, STREAM, "test.Note/1", {"text": "x"})))
        assert other.count() == before


# -- completeness: every omission and every stale checkpoint ----------------------------------
def test_every_single_omission_is_refused(local):
    doc = load(export_bundle(local, STREAM))
    assert verify_bundle(dump(doc)).ok
    for i in range(len(doc["records"])):
        cut = dict(doc, records=doc["records"][:i] + doc["records"][i + 1:])
        assert not verify_bundle(dump(cut)).ok, f"dropping seq {doc['records'][i]['seq']} went unnoticed"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_subset_of_records_dropped_is_refused(local, data):
    doc = load(export_bundle(local, STREAM))
    n = len(doc["records"])
    drop = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1))
    cut = dict(doc, records=[r for i, r in enumerate(doc["records"]) if i not in drop])
    assert not verify_bundle(dump(cut)).ok


def test_a_cut_tail_with_its_heads_entry_is_refused(local):
    doc = load(export_bundle(local, STREAM))
    last = stream_seqs(doc)[-1]  # the lifting of the påbud
    cut = dict(doc, records=[r for r in doc["records"] if r["seq"] != last])
    fails(cut, "stream tilbud/T-1001 ends at version 5", "the checkpoint commits to version 6")
    # Claiming the stream ended earlier breaks the heads proof.
    lied = json.loads(dump(cut))
    entry = next(h for h in lied["heads"] if h["stream"] == STREAM)
    entry.update(version=5, seq=stream_seqs(doc)[-2])
    fails(lied, "heads entry of tilbud/T-1001 does not verify")


@pytest.mark.parametrize("what", ["correction", "revocation", "grant", "rules"])
def test_named_omissions_are_refused(local, what):
    doc = load(export_bundle(local, STREAM))
    pick = {"correction": lambda s: s.payload.get("n") == 9,
            "revocation": lambda s: s.type == KEY_REVOKED,
            "grant": lambda s: s.type == ROLE_GRANTED,
            "rules": lambda s: s.type == "ledger.RulesInForce/1"}[what]
    seq = next(q for q, s in statements(doc) if pick(s))
    fails(dict(doc, records=[r for r in doc["records"] if r["seq"] != seq]), "missing")


def test_stale_checkpoints_are_refused(local, keystore):
    old = load(export_bundle(local, STREAM))
    local.record(local.signer("Karen", keystore), STREAM, "test.Note/1", {"text": "later"})
    new = load(export_bundle(local, STREAM, local.log))
    assert verify_bundle(dump(new)).ok
    # The old checkpoint with the new records: the records lie beyond it.
    fails(dict(new, checkpoint=old["checkpoint"]), "lies beyond the checkpoint")
    # The old checkpoint and its own heads, with the new records cut back to it: the new StreamHeads
    # record is left over, and without it the old one is the last leaf — an honest old bundle, which says so.
    mixed = dict(new, checkpoint=old["checkpoint"], heads=old["heads"])
    fails(mixed)
    report = verify_bundle(dump(old))
    assert report.ok and report.checkpoint_number == 1 and verify_bundle(dump(new)).checkpoint_number == 2
    # A newer checkpoint with the old records: the StreamHeads event it ends in is not in the bundle.
    fails(dict(old, checkpoint=new["checkpoint"]), "is not its StreamHeads event")


# -- strict JSON: one byte string, one meaning ------------------------------------------------
def test_duplicate_members_are_refused_at_every_level(local):
    data = export_bundle(local, STREAM)
    doc = load(data)
    truncated = json.dumps(doc["records"][:3])
    text = data.decode()
    # A truncated record list first, the full one last: a last-wins parser would read the full one.
    dup_top = text.replace('"records": [', f'"records": {truncated}, "records": [', 1)
    with pytest.raises(BundleFormatError, match="appears twice"):
        verify_bundle(dup_top.encode())
    dup_deep = text.replace('"seq": 1,', '"seq": 2, "seq": 1,', 1)
    with pytest.raises(BundleFormatError, match="appears twice"):
        verify_bundle(dup_deep.encode())


@pytest.mark.parametrize("token, replacement, error", [
    ('"version": 2', '"version": true', "version"),
    ('"version": 2', '"version": 2.0', "not an integer"),
    ('"version": 2', '"version": 2e0', "not an integer"),
    ('"seq": 1,', '"seq": 1.0,', "not an integer"),
    ('"seq": 1,', '"seq": 9007199254740993,', r"2\^53"),
    ('"seq": 1,', '"seq": NaN,', "not JSON"),
    ('"stream": "tilbud/T-1001"', '"stream": "tilbud/T-1001\\ud800"', "lone surrogate"),
])
def test_numbers_and_text_of_one_reading_only(local, token, replacement, error):
    text = export_bundle(local, STREAM).decode()
    assert token in text
    with pytest.raises(BundleFormatError, match=error):
        verify_bundle(text.replace(token, replacement, 1).encode())


def test_exact_types_and_closed_members(local):
    doc = load(export_bundle(local, STREAM))
    fails(dict(doc, extra="ignored?"), "unknown member 'extra'")
    r = json.loads(dump(doc))
    r["records"][0]["seq"] = True
    fails(r, "not an integer")
    r = json.loads(dump(doc))
    r["heads"][0]["index"] = "0"
    fails(r, "not an integer")
    r = json.loads(dump(doc))
    del r["heads"][0]["proof"]
    fails(r, "lacks the member 'proof'")
    r = json.loads(dump(doc))
    r["records"][0]["note"] = "x"
    fails(r, "unknown member 'note'")
    with pytest.raises(BundleFormatError):
        verify_bundle(b"\xef\xbb\xbf" + dump(doc))
    with pytest.raises(BundleFormatError):
        verify_bundle(dump(doc) + b"{}")


# -- canonical signed bytes, re-checked --------------------------------------------------------
def _note_seq(doc: dict) -> int:
    return stream_seqs(doc)[1]  # a note by Karen that is not the stream's head


def test_an_honest_reseal_verifies(local):
    """The control for the forgeries below: resealing alone changes nothing a verifier objects to."""
    doc = load(export_bundle(local, STREAM))
    assert verify_bundle(dump(reseal(local, doc, {}))).ok


@pytest.mark.parametrize("forge, phrase", [
    # Unsorted payload keys, a repeated member, an escape for ø, a float, text not in NFC, a short timestamp.
    (lambda st: st.replace(b'{"n":1,"text":', b'{"text":"observation 1","n":1,"text":'), "not canonical"),
    (lambda st: st.replace(b'"payload":{"n":1,"text":"observation 1"}', b'"payload":{"text":"observation 1","n":1}'),
     "not canonical"),
    (lambda st: st.replace(b'"n":1', b'"n":1.0'), "floating-point"),
    (lambda st: st.replace(b'"n":1', b'"n":9007199254740993'), "2^53"),
    (lambda st: st.replace(b'observation 1', "observation e\u0301".encode()), "NFC"),
    (lambda st: st.replace(b'observation 1', b'observation \\u00f8'), "not canonical"),
    (lambda st: st.replace(b'.000000Z"', b'Z"').replace(st[st.index(b'"occurred_at":"') + 15:][:27],
                                                       st[st.index(b'"occurred_at":"') + 15:][:19] + b"Z"), "timestamp"),
    (lambda st: st[:-1] + b',"extra":1}', "not canonical"),
])
def test_non_canonical_statements_are_refused_even_when_signed(local, forge, phrase):
    doc = load(export_bundle(local, STREAM))
    seq = _note_seq(doc)
    event = next(local.read(after_seq=seq - 1, until_seq=seq))
    forged = forge(event.statement_bytes)
    assert forged != event.statement_bytes
    fails(reseal(local, doc, {seq: restate(local, seq, forged, "Karen")}), phrase)


def test_a_record_holding_an_unsigned_verdict_before_the_signed_one_is_refused(local):
    doc = load(export_bundle(local, STREAM))
    seq = next(q for q, s in statements(doc) if s.type == "test.Decision/1")
    event = next(local.read(after_seq=seq - 1, until_seq=seq))
    fake = event.statement_bytes.replace("påbud: bemanding".encode(), "intet påbud".encode())
    raw = event.record_bytes.replace(b'"statement":"', f'"statement":"{b64(fake)}","statement":"'.encode(), 1)
    fails(reseal(local, doc, {seq: raw}), "record bytes are not canonical")
    extra = event.record_bytes[:-1] + b',"verdict":"intet p\\u00e5bud"}'
    fails(reseal(local, doc, {seq: extra}), "record bytes are not canonical")
    unsorted = event.record_bytes.replace(b'{"seq":', b'{"recorded_at":"2020-01-01T00:00:00.000000Z","seq":', 1)
    fails(reseal(local, doc, {seq: unsorted}), "record bytes are not canonical")


# -- names bound to the genesis; empty roles mean nobody --------------------------------------
def test_names_are_bound_to_the_genesis(local):
    doc = load(export_bundle(local, STREAM))
    fails(dict(doc, origin="tilsyn-ledger/another"), "genesis event names origin")
    fails(reseal(local, doc, {}, note_name="Socialtilsyn_Øst"), "does not verify under the ledger's key")
    fails(reseal(local, doc, {}, origin="tilsyn-ledger/another", note_name=note_key_name(local.origin)),
          "checkpoint is for origin")
    fails(dict(doc, origin="tilsyn-ledger/with space"), "whitespace")


def test_an_empty_roles_list_means_nobody(local):
    doc = load(export_bundle(local, STREAM))
    seq = next(q for q, s in statements(doc) if s.type == "ledger.RulesInForce/1")
    event = next(local.read(after_seq=seq - 1, until_seq=seq))
    payload = json.loads(event.statement_bytes)
    payload["payload"]["types"]["test.Note/1"]["roles"] = []
    forged = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    fails(reseal(local, doc, {seq: restate(local, seq, forged, AUTHORITY)}), "let nobody sign test.Note/1")


def test_an_event_type_with_no_roles_cannot_be_appended(tmp_path):
    policy = make_policy()
    policy.register(EventType("test.Open/1", frozenset()))
    ledger, authority = Ledger.init(f"sqlite:///{tmp_path / 'x.db'}", AUTHORITY, KeyStore(tmp_path / "h"), policy=policy)
    with pytest.raises(Exception, match="nobody"):
        ledger.record(authority, STREAM, "test.Open/1", {})
    ledger.close()


# -- robustness: random damage never passes ----------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_byte_changes_never_pass(local, data):
    raw = bytearray(export_bundle(local, STREAM))
    original = bytes(raw)
    at = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[at]))
    raw[at] = new
    try:
        report = verify_bundle(bytes(raw))
    except BundleFormatError:
        return
    # JSON whitespace between tokens carries no meaning; any other change must be refused — except in
    # what is under no signature: exported_at (informational, §1) and a signature line the check ignores
    # as C2SP requires (one whose key name or key hash is no longer the ledger key's).
    if report.ok:
        changed, honest = load(bytes(raw)), load(original)
        if changed != honest and bytes(raw).split() != original.split():
            unsigned = ("checkpoint", "exported_at")
            assert {k: v for k, v in changed.items() if k not in unsigned} == \
                {k: v for k, v in honest.items() if k not in unsigned}
            text, _, lines = changed["checkpoint"].rpartition("\n\n")
            assert text == honest["checkpoint"].rpartition("\n\n")[0]
            kept = set(lines.splitlines()) & set(honest["checkpoint"].rpartition("\n\n")[2].splitlines())
            assert any(ln.startswith(f"— {note_key_name(local.origin)} ") for ln in kept)


def test_not_a_bundle_is_a_format_error():
    with pytest.raises(BundleFormatError):
        verify_bundle(b"\x00\xff not json")
    with pytest.raises(BundleFormatError):
        verify_bundle(b'{"format": "something-else"}')
    with pytest.raises(BundleFormatError, match="version"):
        verify_bundle(b'{"format": "tilsyn-evidence-bundle", "version": 99}')
    report = verify_bundle(b'{"format": "tilsyn-evidence-bundle", "version": 2}')
    assert not report.ok and report.reason.startswith("malformed bundle")


# -- an implementation no one here wrote: sigstore ---------------------------------------------
def sigstore_check(data: bytes, public_key: bytes) -> int:
    """Read the checkpoint and check every inclusion proof with sigstore's own code; returns the count."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from sigstore._internal import merkle as sm
    from sigstore._internal.rekor.checkpoint import SignedCheckpoint
    from sigstore._internal.trust import Keyring
    from sigstore._utils import KeyID
    from sigstore_models.common import v1 as common_v1

    from tilsyn.ledger.checkpoint import key_hash

    doc = load(data)
    signed = SignedCheckpoint.from_text(doc["checkpoint"])
    der = Ed25519PublicKey.from_public_bytes(public_key).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ring = Keyring([common_v1.PublicKey(raw_bytes=base64.b64encode(der), key_details=common_v1.PublicKeyDetails.PKIX_ED25519)])
    # sigstore matches signature lines by the first 4 bytes of the key id: the C2SP key hash here.
    signed.signed_note.verify(ring, KeyID(key_hash(note_key_name(doc["origin"]), public_key) + bytes(28)))
    cp = signed.checkpoint
    assert cp.origin == doc["origin"] and cp.other_content == []
    for r in doc["records"]:
        index, proof = r["seq"] - 1, [base64.b64decode(p) for p in r["proof"]]
        inner, border = sm._decomp_inclusion_proof(index, cp.log_size)
        assert len(proof) == inner + border
        leaf = sm._hash_leaf(base64.b64decode(r["record"]))
        root = sm._chain_border_right(sm._chain_inner(leaf, proof[:inner], index), proof[inner:])
        assert root.hex() == cp.log_hash, f"sigstore rejects the proof of seq {r['seq']}"
    return len(doc["records"])


def test_sigstore_reads_every_exported_bundle(supervised, keystore):
    data = export_bundle(supervised, STREAM)
    assert sigstore_check(data, supervised.log.public_key) == len(load(data)["records"])
    for other in ("tilbud/T-2002", "ledger/keys"):
        assert sigstore_check(export_bundle(supervised, other), supervised.log.public_key) > 0
    forged = load(data)
    forged["records"][3]["proof"][0] = b64(bytes(32))
    with pytest.raises(AssertionError, match="sigstore rejects"):
        sigstore_check(dump(forged), supervised.log.public_key)


# -- through the command line ------------------------------------------------------------------
def test_cli_export_and_verify_bundle(local, keystore, monkeypatch, tmp_path):
    from tilsyn.cli.context import AppContext
    from tilsyn.cli.main import cli

    monkeypatch.setattr(AppContext, "policy", lambda self: local.policy)
    runner = CliRunner()
    base = ["--db", local.store.engine.url.render_as_string(hide_password=False), "--home", str(keystore.home)]
    out = tmp_path / "T-1001.json"
    made = runner.invoke(cli, [*base, "export", "T-1001", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["events"] == 6
    full = runner.invoke(cli, [*base, "export", STREAM, "--out", str(tmp_path / "same.json")])
    assert full.exit_code == 0 and "6 events" in full.stdout
    ok = runner.invoke(cli, ["verify-bundle", str(out)])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: tilbud/T-1001: 6 events")
    assert "complete as of checkpoint 1, size" in ok.stdout
    assert ("CET" in ok.stdout or "CEST" in ok.stdout), ok.stdout
    doc = json.loads(out.read_bytes())
    doc["records"].pop(3)
    bad = tmp_path / "bad.json"
    bad.write_bytes(dump(doc))
    failed = runner.invoke(cli, ["verify-bundle", str(bad)])
    assert failed.exit_code == 1 and failed.stderr.startswith("FAILED: ")
    as_json = runner.invoke(cli, ["verify-bundle", str(bad), "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False
    good_json = json.loads(runner.invoke(cli, ["verify-bundle", str(out), "--json"]).stdout)
    assert good_json["complete_as_of"]["checkpoint"] == 1 and good_json["complete_as_of"]["signed_at"]
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x89PNG")
    assert runner.invoke(cli, ["verify-bundle", str(garbage)]).exit_code == 2
    assert runner.invoke(cli, ["verify-bundle", str(tmp_path / "missing.json")]).exit_code == 2
    nothing = runner.invoke(cli, [*base, "export", "T-4040", "--out", str(tmp_path / "x.json")])
    assert nothing.exit_code == 2 and "no events" in nothing.stderr


@pytest.mark.parametrize("origin", ["tilsyn ledger", "tilsyn\u00a0ledger", "\ufefftilsyn", "tilsyn\u200b",
                                    "tilsyn\x07", "tilsyn\u2028x", "a+b", "", "tilsyn\u3000x", "e\u0301"])
def test_init_refuses_origins_clients_read_differently(tmp_path, origin):
    from tilsyn.ledger import ValidationError

    with pytest.raises(ValidationError, match="origin"):
        Ledger.init(f"sqlite:///{tmp_path / 'o.db'}", AUTHORITY, KeyStore(tmp_path / "h"), origin=origin)
    assert not list((tmp_path / "h").glob("keys/*"))


def test_default_origins_are_unique(tmp_path):
    origins = set()
    for i in range(3):
        ledger, _ = Ledger.init(f"sqlite:///{tmp_path / f'{i}.db'}", AUTHORITY, KeyStore(tmp_path / "h"))
        origins.add(ledger.origin)
        ledger.close()
    assert len(origins) == 3 and all(o.startswith("tilsyn-ledger/") for o in origins)


def test_cli_init_refuses_a_bad_origin(tmp_path):
    from tilsyn.cli.main import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "o.db"), "--home", str(tmp_path / "h"), "init",
                                      "--authority", AUTHORITY, "--origin", "tilsyn\ufeffledger"])
    assert result.exit_code == 2 and result.stderr.startswith("tilsyn: error: ") and "U+FEFF" in result.stderr
    assert not (tmp_path / "o.db").exists() or "Traceback" not in result.stderr


# -- the test vector of docs/evidence-bundle.md ------------------------------------------------
def worked_example() -> dict:
    """The docs' complete example bundle, from fixed keys and times (Ed25519 signatures are deterministic).

    Ledger ``tilsyn-ledger/example`` (ledger id 000102…0f) of the authority "Socialtilsyn Øst" (private key
    bytes 00 01 … 1f), with the log key of private key bytes 20 21 … 3f: seq 1 genesis, seq 2 the rules in
    force, seq 3 one note on tilbud/T-1001, seq 4 the StreamHeads event (signed by the log key); the
    checkpoint at size 4 carries the log key's cosignature/v1 timestamp.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tilsyn.ledger import Policy, Signer
    from tilsyn.ledger.envelope import GENESIS_PREV, leaf_hash, make_statement
    from tilsyn.ledger.heads import Head, HeadsMap
    from tilsyn.ledger.rules import rules_payload
    from tests.conftest import Note

    authority = Signer(AUTHORITY, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    log = Signer("ledger", Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64))))
    ledger_id = bytes(range(16)).hex()
    origin = "tilsyn-ledger/example"
    policy = Policy()
    policy.register(EventType("test.Note/1", frozenset({"tilsynskonsulent", "admin"}), Note))
    t = ["2025-01-02T03:04:05.000000Z", "2025-01-02T03:04:05.000001Z", "2025-01-03T09:00:00.000000Z",
         "2025-01-03T09:00:01.000000Z", "2025-01-03T09:30:00.000000Z"]
    stmts = [
        make_statement(stream="ledger/keys", stream_version=1, type=GENESIS, occurred_at=t[0], actor=AUTHORITY,
                       key_id=authority.key_id, ledger=ledger_id,
                       payload={"ledger_id": ledger_id, "origin": origin, "authority": AUTHORITY,
                                "key_id": authority.key_id, "public_key": b64(authority.public_key), "roles": ["admin"],
                                "log_key": {"key_id": log.key_id, "public_key": b64(log.public_key)}}),
        make_statement(stream="ledger/policy", stream_version=1, type="ledger.RulesInForce/1", occurred_at=t[1],
                       actor=AUTHORITY, key_id=authority.key_id, ledger=ledger_id, payload=rules_payload(policy)),
        make_statement(stream=STREAM, stream_version=1, type="test.Note/1", occurred_at=t[2], actor=AUTHORITY,
                       key_id=authority.key_id, ledger=ledger_id, payload={"text": "Tilsynsbesøg aftalt"}),
    ]
    records, heads, prev = [], {}, GENESIS_PREV
    for seq, (st, at) in enumerate(zip(stmts, [t[1], t[1], t[3]]), 1):
        signed = authority.sign(st)
        raw = encode_record(Record(seq, at, prev, signed.data, signed.signature))
        records.append(raw)
        heads[st.stream] = Head(st.stream_version, seq, leaf_hash(raw))
        prev = leaf_hash(raw).hex()
    heads_map = HeadsMap(heads)
    sh = make_statement(stream="ledger/heads", stream_version=1, type="ledger.StreamHeads/1", occurred_at=t[3],
                        actor=log.actor, key_id=log.key_id, ledger=ledger_id, payload=heads_map.payload(3))
    signed = log.sign(sh)
    records.append(encode_record(Record(4, t[3], prev, signed.data, signed.signature)))
    root = merkle.root(records)
    body = checkpoint_body(origin, 4, root)
    from tilsyn.ledger.witnessing import log_timestamp_line

    note = sign_note(body, origin, log.private_key)
    note += log_timestamp_line(body, origin, log.private_key, timestamp=1735896600)
    bundle = {
        "format": "tilsyn-evidence-bundle", "version": 2, "origin": origin, "stream": STREAM,
        "exported_at": t[4], "checkpoint": note,
        "heads": [{"stream": s, "version": heads[s].version, "seq": heads[s].seq, "leaf": heads[s].leaf.hex(),
                   "index": heads_map.index[s], "proof": [b64(p) for p in heads_map.proof(s)]}
                  for s in heads_map.streams],
        "records": [{"seq": i + 1, "record": b64(r), "proof": [b64(p) for p in merkle.inclusion_proof(records, i)]}
                    for i, r in enumerate(records)],
    }
    return {"bundle": bundle, "bytes": encode_bundle(bundle), "records": records, "heads_map": heads_map,
            "heads": heads, "root": root, "note": note, "authority": authority, "log": log}


def test_the_documented_test_vector_is_complete_and_current():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "evidence-bundle.md").read_text(encoding="utf-8")
    ex = worked_example()
    report = verify_bundle(ex["bytes"])
    assert report.ok, report.problems
    assert (report.checkpoint_number, report.checkpoint_size, report.signed_at) == (1, 4, "2025-01-03T09:30:00.000000Z")
    # The whole file, byte for byte, between the markers: an outside verifier can take it from the page.
    start = doc.index("<!-- test vector: begin -->\n```json\n") + len("<!-- test vector: begin -->\n```json\n")
    end = doc.index("```\n<!-- test vector: end -->")
    assert doc[start:end].encode("utf-8") == ex["bytes"]
    for seq, raw in enumerate(ex["records"], 1):
        assert raw.decode() in doc, f"record bytes of seq {seq}"
        assert decode_record(raw).statement.decode() in doc, f"statement bytes of seq {seq}"
    for stream in ex["heads_map"].streams:
        from tilsyn.ledger.heads import entry_bytes

        assert repr(entry_bytes(stream, ex["heads"][stream]).decode())[1:-1] in doc, stream
    assert ex["root"].hex() in doc and ex["heads_map"].root().hex() in doc
    assert sigstore_check(ex["bytes"], ex["log"].public_key) == 4


def test_cli_verify_bundle_with_a_witness_policy(local, keystore, monkeypatch, tmp_path):
    from tilsyn.cli.context import AppContext
    from tilsyn.cli.main import cli
    from tilsyn.ledger.cosignature import cosigner_vkey as verifier_key
    from tilsyn.ledger.witnessing import log_vkey

    monkeypatch.setattr(AppContext, "policy", lambda self: local.policy)
    out = tmp_path / "b.json"
    out.write_bytes(export_bundle(local, STREAM))
    witness = verifier_key("ankestyrelsen.example/witness", keys.public_bytes(keys.generate()))
    policy = tmp_path / "policy.txt"
    policy.write_text(f"log {log_vkey(local)}\nwitness ank {witness}\nquorum ank\n", encoding="utf-8")
    runner = CliRunner()
    missed = runner.invoke(cli, ["verify-bundle", str(out), "--policy", str(policy)])
    assert missed.exit_code == 1 and "witness policy" in missed.stderr, missed.output
    alone = tmp_path / "alone.txt"
    alone.write_text(f"log {log_vkey(local)}\nquorum none\n", encoding="utf-8")
    ok = runner.invoke(cli, ["verify-bundle", str(out), "--policy", str(alone)])
    assert ok.exit_code == 0, ok.output
    broken = tmp_path / "broken.txt"
    broken.write_text("quorum\n", encoding="utf-8")
    bad = runner.invoke(cli, ["verify-bundle", str(out), "--policy", str(broken)])
    assert bad.exit_code == 2 and bad.stderr.startswith("tilsyn: error: ")


def test_a_bad_signature_is_found_whatever_the_early_checks_guessed(local):
    """Signatures are checked on threads ahead of the walk against the keys the bundle's key events name;
    a signature that does not verify is still named at its seq."""
    raw = load(export_bundle(local, STREAM))
    at = len(raw["records"]) // 2
    rec = json.loads(base64.b64decode(raw["records"][at]["record"]))
    seq = raw["records"][at]["seq"]
    rec["signature"] = base64.b64encode(bytes(64)).decode()
    raw["records"][at]["record"] = base64.b64encode(json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
                                                    .encode()).decode()
    report = verify_bundle(json.dumps(raw).encode())
    assert not report.ok and any(p.seq == seq and "signature does not verify" in p.message for p in report.problems)
