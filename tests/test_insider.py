"""The audit's database-only insider, as named tests: write access to every table, none of the keys.

Each test takes a copy of the session's realistic ledger (tests/ledger_copies.py) on SQLite and on
PostgreSQL, lets the insider change rows with plain SQL, and then runs what a user runs next through
the CLI entry point. Most run "warm" — the user's machine verified the ledger before the insider struck
(its verified state in the key home) — and some also "cold", on a machine that never saw it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import msgspec
import pytest

from tests.conftest import new_pg_schema
from tests.ledger_copies import AUTHORITY, LEADER, STREAM, SUBSTITUTE, SUPERVISOR, TILBUD, Case
from tilsyn.ledger import AuthorizationError, KeyStore, Ledger, keys
from tilsyn.ledger.envelope import Record, decode_record, decode_statement, encode_record, encode_statement, leaf_hash
from tilsyn.ledger.merkle import root as merkle_root


@pytest.fixture(params=["sqlite", "postgresql"])
def case(request, tamper_base, tmp_path) -> Case:
    """A fresh copy of the base ledger, verified once by the user's machine (warm)."""
    if request.param == "sqlite":
        c = tamper_base.copy_sqlite(tmp_path)
    else:
        url, drop = new_pg_schema()
        request.addfinalizer(drop)
        c = tamper_base.copy_postgres(tmp_path, url)
    ok(c.tilsyn("verify"))
    return c


def ok(result):
    assert result.exit_code == 0 and result.escaped is None, str(result)
    return result


def damaged(result, seq: int | None = None):
    """Exit 1 with the one error line (or verify's FAILED line) naming ``seq``; no traceback."""
    assert result.escaped is None, f"{result}\n{result.escaped!r}"
    assert result.exit_code == 1, str(result)
    assert "Traceback" not in result.stdout + result.stderr
    if seq is not None:
        said = result.stderr.splitlines()[0]
        assert f"at seq {seq}:" in said, str(result)
    return result


# -- the insider's tools: SQL, and the kernel's public encoding (anyone can write JSON) -------------
def event_rows(case: Case) -> dict[int, tuple]:
    return {r[0]: r for r in case.sql("SELECT seq, stream, stream_version, type, actor, occurred_at, recorded_at, "
                                      "leaf_hash, record FROM events ORDER BY seq")}


def statement_at(case: Case, seq: int):
    record = decode_record(bytes(event_rows(case)[seq][8]))
    return record, decode_statement(record.statement)


def seq_of(case: Case, type_: str, nth: int = 0) -> int:
    return [seq for seq, row in event_rows(case).items() if row[3] == type_][nth]


def append_forged(case: Case, statement, signature: bytes = bytes(64)) -> int:
    """Seal ``statement`` as the next record, perfectly chained and hashed, with ``signature``."""
    rows = event_rows(case)
    last = rows[max(rows)]
    data = encode_statement(statement)
    seq = last[0] + 1
    record = encode_record(Record(seq, last[6], bytes(last[7]).hex(), data, signature))
    case.sql("INSERT INTO events (seq, stream, stream_version, type, actor, occurred_at, recorded_at, leaf_hash, "
             "record) VALUES (:seq, :stream, :v, :type, :actor, :occ, :rec, :leaf, :record)",
             {"seq": seq, "stream": statement.stream, "v": statement.stream_version, "type": statement.type,
              "actor": statement.actor, "occ": statement.occurred_at, "rec": last[6], "leaf": leaf_hash(record),
              "record": record})
    return seq


def forget_verified(case: Case) -> None:
    for f in (case.home / "verified").glob("*"):
        f.unlink()


def count(case: Case, table: str = "events") -> int:
    return case.sql(f"SELECT count(*) FROM {table}")[0][0]


def checkpoint_rows(case: Case) -> list[tuple]:
    return case.rows("checkpoints", "id")


# -- forged key rows -----------------------------------------------------------------------------
def forge_eve(case: Case) -> int:
    """Eve Insider registers herself as admin and tilsynsleder 'signed by the authority' (a zero
    signature), and keeps her own private key in the key home."""
    _, genuine = statement_at(case, seq_of(case, "ledger.KeyRegistered/1"))
    private = keys.generate()
    pub = keys.public_bytes(private)
    KeyStore(case.home).save(private)
    versions = [r[2] for r in event_rows(case).values() if r[1] == "ledger/keys"]
    eve = msgspec.structs.replace(genuine, stream_version=max(versions) + 1, payload={
        "name": "Eve Insider", "key_id": keys.key_id(pub), "public_key": base64.b64encode(pub).decode(),
        "roles": ["admin", "tilsynsleder"]})
    return append_forged(case, eve)


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_eves_zero_signature_key_row_is_refused_by_every_command(case, warm):
    if not warm:  # the same copy, seen by a machine that never verified it
        forget_verified(case)
    forged = forge_eve(case)
    before, cps = count(case), checkpoint_rows(case)
    decision = seq_of(case, "tilsyn.DecisionIssued/1")
    for args in (("decision", "lift", TILBUD, str(decision), "--reason", "Eve ophæver"),
                 ("keys", "revoke", LEADER, "--reason", "Eve vil af med tilsynslederen"),
                 ("keys", "add", "Mallory", "--role", "tilsynsleder")):
        damaged(case.tilsyn(*args, actor="Eve Insider"), forged)
    damaged(case.tilsyn("verify"), forged)
    for args in (("status", TILBUD), ("history", TILBUD), ("explain", TILBUD), ("keys", "list")):
        damaged(case.tilsyn(*args, actor=SUPERVISOR), forged)
    damaged(case.tilsyn("report", TILBUD, "--out", str(case.dir / "r.html"), actor=SUPERVISOR), forged)
    damaged(case.tilsyn("export", TILBUD, "--out", str(case.dir / "b.json"), actor=AUTHORITY), forged)
    damaged(case.tilsyn("checkpoint", "--no-witness", actor=AUTHORITY), forged)
    assert not (case.dir / "b.json").exists() and not (case.dir / "r.html").exists()
    assert count(case) == before and checkpoint_rows(case) == cps  # nothing appended, nothing signed


def test_unrevoking_by_editing_the_stream_column_is_refused(case):
    revoked = seq_of(case, "ledger.KeyRevoked/1")
    case.sql("UPDATE events SET stream = 'tilbud/T-9999' WHERE seq = :s", {"s": revoked})
    before = count(case)
    ole = case.tilsyn("observe", TILBUD, "2.3.1", "--source", "borger", "--method", "interview",
                      "--text", "Ole er tilbage", actor=SUBSTITUTE)
    damaged(ole, revoked)
    damaged(case.tilsyn("verify"), revoked)
    damaged(case.tilsyn("keys", "list"), revoked)
    assert count(case) == before


# -- forged caches -------------------------------------------------------------------------------
def test_a_forged_snapshot_is_never_shown(case):
    genuine = ok(case.tilsyn("status", TILBUD, "--json", actor=SUPERVISOR)).stdout
    (stream, version, seq, blob), = case.sql("SELECT stream, projection_version, seq, state FROM projection_snapshots")
    blob = bytes(blob)
    assert b"gr\xc3\xb8n" in blob or b"opfyldt" in blob
    # The insider rewrites the folded state: the påbud gone, the risk red, 2.3 not fulfilled.
    forged = blob.replace(b"efterkommet", b"udstedt__ ").replace(b'"gr\xc3\xb8n"', b'"r\xc3\xb8d"')
    forged = forged.replace(b'"opfyldt"', b'"ikke opfyldt"')
    assert forged != blob
    case.sql("UPDATE projection_snapshots SET state = :b", {"b": forged})
    assert ok(case.tilsyn("status", TILBUD, "--json", actor=SUPERVISOR)).stdout == genuine
    damaged(case.tilsyn("verify"), seq)
    # A snapshot written from scratch, claiming a later seq, is ignored too.
    case.sql("UPDATE projection_snapshots SET seq = :s", {"s": seq + 1})
    assert ok(case.tilsyn("status", TILBUD, "--json", actor=SUPERVISOR)).stdout == genuine
    damaged(case.tilsyn("verify"))


@pytest.mark.parametrize("how", ["delete", "null"])
def test_a_faked_erasure_is_reported_and_never_shown_as_an_erasure(case, how):
    sealed = next(seq for seq, row in event_rows(case).items() if b"tilsyn-enc:" in decode_record(bytes(row[8])).statement)
    if how == "delete":
        case.sql("DELETE FROM subject_keys WHERE subject = 'B-17'")
    else:
        case.sql("UPDATE subject_keys SET wrapped = NULL, erased_at = '2026-12-01T10:00:00.000000Z', "
                 "erase_reason = 'GDPR art. 17' WHERE subject = 'B-17'")
    damaged(case.tilsyn("verify"), sealed)
    history = case.tilsyn("history", TILBUD, actor=SUPERVISOR)
    assert history.escaped is None and history.exit_code in (0, 1), str(history)
    assert "slettet" not in history.stdout and "GDPR" not in history.stdout


# -- appends through the Python API --------------------------------------------------------------
def test_a_python_api_append_with_a_bad_signature_is_refused_even_with_signer_public_key(tmp_path):
    home = KeyStore(tmp_path / "home")
    ledger, authority = Ledger.init(str(tmp_path / "l.db"), AUTHORITY, home)
    with ledger:
        ledger.register_key(authority, SUPERVISOR, ["tilsynskonsulent"], home)
        karen = ledger.signer(SUPERVISOR, home)
        genuine = authority.sign(ledger.statement(authority, "ledger/keys", "ledger.RoleGranted/1",
                                                  {"key_id": karen.key_id, "name": SUPERVISOR, "roles": ["admin"]}))
        before = ledger.count()
        # Zero, random, and Karen's real signature over the authority's statement (in another's name).
        for signature in (bytes(64), b"\x01" * 64, karen.private_key.sign(genuine.data)):
            forged = replace(genuine, signature=signature, signer_public_key=authority.public_key)
            with pytest.raises(AuthorizationError, match="does not verify"):
                ledger.append(forged)
        assert ledger.count() == before
        assert ledger.append(genuine)[0].seq == before + 1  # the genuine one still goes in


# -- the right seq, between two checkpoints --------------------------------------------------------
def test_damage_between_two_checkpoints_names_the_damaged_seq(case):
    first, second = [r[1] for r in checkpoint_rows(case)][:2]
    assert first + 2 < second
    target = first + 2  # not the older checkpoint's size: the record really changed
    row = event_rows(case)[target]
    record = bytearray(bytes(row[8]))
    record[len(record) // 2] ^= 0x20
    case.sql("UPDATE events SET record = :r, leaf_hash = :h WHERE seq = :s",
             {"r": bytes(record), "h": leaf_hash(bytes(record)), "s": target})
    damaged(case.tilsyn("verify"), target)
    said = case.tilsyn("verify", "--json")
    assert json.loads(said.stdout)["first_bad_seq"] == target


# -- nothing signed over damage --------------------------------------------------------------------
def genuine_root(case: Case, size: int, base_records: dict[int, bytes]) -> bytes:
    """The root of the genuine history: the untouched copy's records, then what was appended since."""
    now = event_rows(case)
    return merkle_root([base_records.get(s) or bytes(now[s][8]) for s in range(1, size + 1)])


@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_export_refuses_a_tampered_ledger_and_writes_no_bundle(case, warm):
    if not warm:
        forget_verified(case)
    last_cp = checkpoint_rows(case)[-1][1]
    # Cold: any record; warm: one in the exported stream or after the last checkpoint.
    target = 12 if not warm else last_cp + 1
    case.sql("UPDATE events SET actor = :a WHERE seq = :s", {"a": LEADER, "s": target})
    out = case.dir / "bundle.json"
    cps = checkpoint_rows(case)
    damaged(case.tilsyn("export", TILBUD, "--out", str(out), actor=AUTHORITY), target)
    assert not out.exists() and checkpoint_rows(case) == cps


def test_checkpoint_never_signs_a_flipped_merkle_cache_node(case):
    base = {s: bytes(r[8]) for s, r in event_rows(case).items()}
    (level, idx, h), = case.sql("SELECT level, idx, hash FROM merkle_nodes ORDER BY level DESC, idx LIMIT 1")
    flipped = bytearray(bytes(h))
    flipped[0] ^= 1
    case.sql("UPDATE merkle_nodes SET hash = :h WHERE level = :l AND idx = :i", {"h": bytes(flipped), "l": level, "i": idx})
    damaged(case.tilsyn("verify"), idx * (1 << level) + 1)
    ok(case.tilsyn("observe", TILBUD, "2.3.1", "--source", "borger", "--method", "interview", "--text", "Ny",
                   actor=SUPERVISOR))
    ok(case.tilsyn("checkpoint", "--no-witness", actor=AUTHORITY))
    cp = checkpoint_rows(case)[-1]
    assert bytes(cp[2]) == genuine_root(case, cp[1], base)
    ok(case.tilsyn("verify"))  # the cache was rebuilt from the records
    ok(case.tilsyn("export", TILBUD, "--out", str(case.dir / "b.json"), actor=AUTHORITY))
    ok(case.tilsyn("verify-bundle", str(case.dir / "b.json")))


def test_export_repairs_a_flipped_proof_node_instead_of_handing_out_a_bad_proof(case):
    ok(case.tilsyn("checkpoint", "--no-witness", actor=AUTHORITY))
    case.sql("UPDATE merkle_nodes SET hash = :h WHERE level = 0 AND idx = 7", {"h": bytes(32)})
    out = case.dir / "b.json"
    ok(case.tilsyn("export", TILBUD, "--out", str(out), actor=AUTHORITY))
    ok(case.tilsyn("verify-bundle", str(out)))
    ok(case.tilsyn("verify"))


def test_a_forged_checkpoint_row_is_not_handed_out(case):
    ok(case.tilsyn("checkpoint", "--no-witness", actor=AUTHORITY))
    cps = checkpoint_rows(case)
    case.sql("UPDATE checkpoints SET root = :r WHERE id = :i", {"r": bytes(32), "i": cps[-1][0]})
    out = case.dir / "b.json"
    damaged(case.tilsyn("export", TILBUD, "--out", str(out), actor=AUTHORITY))
    damaged(case.tilsyn("checkpoint", "--no-witness", actor=AUTHORITY))
    assert not out.exists() and len(checkpoint_rows(case)) == len(cps)
    damaged(case.tilsyn("verify"), cps[-1][1])


def test_a_record_rewritten_as_text_is_damage_not_a_crash(tmp_path):
    """SQLite keeps any type in any column: an insider's ``replace()`` turns a record BLOB into TEXT.
    verify names that seq (exit 1) and the views stop on it, with no 'this is a bug' crash."""
    import sqlite3

    from click.testing import CliRunner

    from tilsyn.cli.demo import run_demo
    from tilsyn.cli.main import cli

    directory = tmp_path / "demo"
    directory.mkdir()
    run_demo(directory)
    db = directory / "tilsyn.db"
    with sqlite3.connect(db) as c:
        c.execute("UPDATE events SET record = replace(record, 'a', 'b') WHERE seq = 25")
        assert c.execute("SELECT typeof(record) FROM events WHERE seq = 25").fetchone() == ("text",)
    env = {"TILSYN_DB": str(db), "TILSYN_HOME": str(directory), "TILSYN_ACTOR": None}
    runner = CliRunner()
    verify = runner.invoke(cli, ["verify"], env=env)
    assert verify.exit_code == 1, verify.output
    assert "seq 25" in verify.output and "bug" not in verify.output
    for args in (["--as", "Karen Holm", "status", "T-1001"], ["history", "T-1001"]):
        r = runner.invoke(cli, args, env=env)
        assert r.exit_code == 1, r.output
        assert "damaged at seq 25" in r.output and "bug" not in r.output
