"""Evidence bundles: a tilbud's events handed to an outsider, checked with no database."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from tilsyn.ledger import LedgerError, create_checkpoint, export_bundle, keys, verify_bundle
from tilsyn.ledger.bundle import BundleFormatError
from tilsyn.ledger.envelope import Record, decode_record, decode_statement, encode_record, encode_statement
from tilsyn.ledger.identity import GENESIS, KEY_REGISTERED

STREAM = "tilbud/T-1001"
AUTHORITY = "Socialtilsyn Øst"


@pytest.fixture
def supervised(ledger, keystore):
    """A tilbud with a visit by Karen and a decision by Lene, amid another tilbud's events and key churn."""
    authority = ledger.authority_signer
    ledger.register_key(authority, "Lene", ["tilsynsleder"], keystore)
    ledger.register_key(authority, "Ole", ["tilsynskonsulent"], keystore)  # never touches T-1001
    karen, lene, ole = (ledger.signer(n, keystore) for n in ("Karen", "Lene", "Ole"))
    for i in range(4):
        ledger.record(karen, STREAM, "test.Note/1", {"text": f"observation {i}", "n": i})
        ledger.record(ole, "tilbud/T-2002", "test.Note/1", {"text": f"elsewhere {i}"})
    ledger.grant_role(authority, "Karen", "tilsynsleder")
    ledger.record(lene, STREAM, "test.Decision/1", {"text": "påbud: bemanding"})
    create_checkpoint(ledger, authority)
    return ledger


def load(data: bytes) -> dict:
    return json.loads(data)


def dump(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def record_of(doc: dict, seq: int) -> dict:
    return next(r for r in doc["records"] if r["seq"] == seq)


def test_round_trip(supervised):
    data = export_bundle(supervised, STREAM)
    report = verify_bundle(data)
    assert report.ok, report.problems
    doc = load(data)
    kinds = [decode_statement(decode_record(base64.b64decode(r["record"])).statement) for r in doc["records"]]
    assert [s.stream_version for s in kinds if s.stream == STREAM] == [1, 2, 3, 4, 5]
    key_types = [(s.type, s.payload.get("name")) for s in kinds if s.stream == "ledger/keys"]
    # Genesis, Karen's and Lene's registrations and Karen's later grant; not Ole, who signed nothing here.
    assert key_types == [(GENESIS, None), (KEY_REGISTERED, "Karen"), (KEY_REGISTERED, "Lene"),
                         ("ledger.RoleGranted/1", "Karen")]
    assert (report.events, report.key_events, report.checkpoint_size) == (5, 4, supervised.count())
    assert doc["roles"]["test.Decision/1"] == ["tilsynsleder"]


def test_export_needs_a_covering_checkpoint_or_the_authority(ledger, keystore):
    ledger.record(ledger.signer("Karen", keystore), STREAM, "test.Note/1", {"text": "x"})
    with pytest.raises(LedgerError, match="no signed checkpoint covers seq 3"):
        export_bundle(ledger, STREAM)
    assert verify_bundle(export_bundle(ledger, STREAM, ledger.authority_signer)).ok
    with pytest.raises(LedgerError, match="no events"):
        export_bundle(ledger, "tilbud/T-9999")


def fails(doc: dict, *phrases: str) -> str:
    report = verify_bundle(dump(doc))
    assert not report.ok, "the tampering went unnoticed"
    text = "\n".join(p.message for p in report.problems)
    for phrase in phrases:
        assert phrase in text, text
    return report.reason


def test_a_changed_byte_in_a_record_fails(supervised):
    doc = load(export_bundle(supervised, STREAM))
    item = doc["records"][-1]
    raw = bytearray(base64.b64decode(item["record"]))
    at = raw.index(b'"recorded_at":"') + len(b'"recorded_at":"') + 3  # the last digit of the year
    raw[at] = ord("9") if raw[at] != ord("9") else ord("8")
    item["record"] = base64.b64encode(bytes(raw)).decode()
    fails(doc, "inclusion proof does not verify")


def test_a_dropped_event_fails(supervised):
    doc = load(export_bundle(supervised, STREAM))
    stream_seqs = [r["seq"] for r in doc["records"]
                   if decode_statement(decode_record(base64.b64decode(r["record"])).statement).stream == STREAM]
    middle = dict(doc, records=[r for r in doc["records"] if r["seq"] != stream_seqs[2]])
    fails(middle, "jumps from version 2 to 4")
    last = dict(doc, records=[r for r in doc["records"] if r["seq"] != stream_seqs[-1]])
    fails(last, "not at the stated head")


def test_a_swapped_authority_key_fails(supervised):
    doc = load(export_bundle(supervised, STREAM))
    doc["authority"]["public_key"] = base64.b64encode(keys.public_bytes(keys.generate())).decode()
    fails(doc, "checkpoint signature does not verify", "genesis event names another authority key")


def test_a_swapped_key_event_fails(supervised):
    """Karen's registration replaced by one for a key the forger holds: proofs and signatures break."""
    doc = load(export_bundle(supervised, STREAM))
    for item in doc["records"]:
        rec = decode_record(base64.b64decode(item["record"]))
        stmt = decode_statement(rec.statement)
        if stmt.type == KEY_REGISTERED and stmt.payload["name"] == "Karen":
            pub = keys.public_bytes(keys.generate())
            payload = stmt.payload | {"public_key": base64.b64encode(pub).decode(), "key_id": keys.key_id(pub)}
            forged = encode_statement(type(stmt)(**{f: getattr(stmt, f) for f in stmt.__struct_fields__} | {"payload": payload}))
            item["record"] = base64.b64encode(encode_record(Record(rec.seq, rec.recorded_at, rec.prev, forged, rec.signature))).decode()
    fails(doc, "inclusion proof does not verify", "is not registered")


def test_a_stale_checkpoint_fails(supervised, keystore):
    old = load(export_bundle(supervised, STREAM))
    supervised.record(supervised.signer("Karen", keystore), STREAM, "test.Note/1", {"text": "later"})
    create_checkpoint(supervised, supervised.authority_signer)
    doc = load(export_bundle(supervised, STREAM))
    assert verify_bundle(dump(doc)).ok
    doc["checkpoint"] = old["checkpoint"]  # genuine and signed, but from before the last event
    fails(doc, "lies beyond the checkpoint", "does not verify against the checkpoint root")


def test_a_forged_proof_element_fails(supervised):
    doc = load(export_bundle(supervised, STREAM))
    item = doc["records"][2]
    raw = bytearray(base64.b64decode(item["proof"][0]))
    raw[0] ^= 1
    item["proof"][0] = base64.b64encode(bytes(raw)).decode()
    reason = fails(doc, "inclusion proof does not verify")
    assert reason.startswith(f"seq {item['seq']}:")


def test_not_a_bundle_is_a_format_error():
    with pytest.raises(BundleFormatError):
        verify_bundle(b"\x00\xff not json")
    with pytest.raises(BundleFormatError):
        verify_bundle(b'{"format": "something-else"}')
    with pytest.raises(BundleFormatError, match="version"):
        verify_bundle(b'{"format": "tilsyn-evidence-bundle", "version": 99}')
    report = verify_bundle(b'{"format": "tilsyn-evidence-bundle", "version": 1}')
    assert not report.ok and report.reason.startswith("malformed bundle")


# -- through the command line ------------------------------------------------------------------
def test_cli_export_and_verify_bundle(supervised, db_url, keystore, policy, monkeypatch, tmp_path):
    from tilsyn.cli.context import AppContext
    from tilsyn.cli.main import cli

    monkeypatch.setattr(AppContext, "policy", lambda self: policy)
    runner = CliRunner()
    base = ["--db", db_url, "--home", str(keystore.home)]
    out = tmp_path / "T-1001.json"
    made = runner.invoke(cli, [*base, "export", "T-1001", "--out", str(out), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["events"] == 5
    full = runner.invoke(cli, [*base, "export", STREAM, "--out", str(tmp_path / "same.json")])
    assert full.exit_code == 0 and "5 events" in full.stdout
    ok = runner.invoke(cli, ["verify-bundle", str(out)])
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: tilbud/T-1001: 5 events")
    doc = json.loads(out.read_bytes())
    doc["records"].pop(3)
    bad = tmp_path / "bad.json"
    bad.write_bytes(dump(doc))
    failed = runner.invoke(cli, ["verify-bundle", str(bad)])
    assert failed.exit_code == 1 and failed.stderr.startswith("FAILED: ")
    as_json = runner.invoke(cli, ["verify-bundle", str(bad), "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["ok"] is False
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\x89PNG")
    assert runner.invoke(cli, ["verify-bundle", str(garbage)]).exit_code == 2
    assert runner.invoke(cli, ["verify-bundle", str(tmp_path / "missing.json")]).exit_code == 2
    nothing = runner.invoke(cli, [*base, "export", "T-4040", "--out", str(tmp_path / "x.json")])
    assert nothing.exit_code == 2 and "no events" in nothing.stderr


# -- the worked example of docs/evidence-bundle.md ---------------------------------------------
def worked_example() -> dict:
    """The docs' worked example, from a fixed key and fixed times (Ed25519 signatures are deterministic)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tilsyn.ledger import Signer, merkle
    from tilsyn.ledger.checkpoint import checkpoint_body, key_hash, sign_note
    from tilsyn.ledger.envelope import GENESIS_PREV, leaf_hash, make_statement

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    authority = Signer("Socialtilsyn Øst", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    origin = "tilsyn-ledger/example"
    genesis = make_statement(
        stream="ledger/keys", stream_version=1, type=GENESIS, occurred_at="2025-01-02T03:04:05.000000Z",
        actor=authority.actor, key_id=authority.key_id,
        payload={"ledger_id": "example", "origin": origin, "authority": authority.actor, "key_id": authority.key_id,
                 "public_key": b64(authority.public_key), "roles": ["admin"]})
    s1 = authority.sign(genesis)
    r1 = encode_record(Record(1, "2025-01-02T03:04:05.000001Z", GENESIS_PREV, s1.data, s1.signature))
    note = make_statement(
        stream="tilbud/T-1001", stream_version=1, type="test.Note/1", occurred_at="2025-01-03T09:00:00.000000Z",
        actor=authority.actor, key_id=authority.key_id, payload={"text": "Tilsynsbesøg aftalt"})
    s2 = authority.sign(note)
    r2 = encode_record(Record(2, "2025-01-03T09:00:01.000000Z", leaf_hash(r1).hex(), s2.data, s2.signature))
    root = merkle.root([r1, r2])
    cp_note = sign_note(checkpoint_body(origin, 2, root), origin, authority.private_key)
    bundle = {
        "format": "tilsyn-evidence-bundle", "version": 1, "origin": origin, "stream": "tilbud/T-1001",
        "exported_at": "2025-01-03T10:00:00.000000Z",
        "authority": {"name": authority.actor, "key_id": authority.key_id, "public_key": b64(authority.public_key),
                      "note_key_name": origin},
        "checkpoint": {"size": 2, "root": b64(root), "note": cp_note},
        "stream_head": {"version": 1, "seq": 2},
        "roles": {"ledger.Genesis/1": ["admin"], "test.Note/1": ["admin", "tilsynskonsulent"]},
        "records": [{"seq": 1, "record": b64(r1), "proof": [b64(leaf_hash(r2))]},
                    {"seq": 2, "record": b64(r2), "proof": [b64(leaf_hash(r1))]}],
    }
    return {"public_key": authority.public_key, "key_id": authority.key_id, "statement": s1.data,
            "signature": s1.signature, "record": r1, "leaf1": leaf_hash(r1), "leaf2": leaf_hash(r2), "root": root,
            "note": cp_note, "key_hash": key_hash(origin, authority.public_key), "bundle": bundle}


def test_the_documented_worked_example_is_current():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "evidence-bundle.md").read_text(encoding="utf-8")
    ex = worked_example()
    assert verify_bundle(dump(ex["bundle"])).ok
    for value in (ex["public_key"].hex(), ex["key_id"], ex["signature"].hex(), ex["leaf1"].hex(),
                  ex["leaf2"].hex(), ex["root"].hex(), ex["key_hash"].hex(), f"Record bytes of seq 1 ({len(ex['record'])} bytes"):
        assert value in doc, value
    assert ex["statement"].decode() in doc and ex["record"].decode() in doc
    assert ex["note"].rstrip("\n") in doc
