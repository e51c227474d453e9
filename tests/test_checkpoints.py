"""Signed checkpoints: the authority's commitments to the tree, and what verification makes of them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tilsyn.ledger import AuthorizationError, LedgerError, create_checkpoint, merkle, verify_all, verify_checkpoints
from tilsyn.ledger.checkpoint import open_note, parse_checkpoint
from tilsyn.ledger.checkpoints import list_checkpoints, note_key_name
from tilsyn.ledger.envelope import leaf_hash
from tilsyn.ledger.store import checkpoints, events

AUTHORITY = "Socialtilsyn Øst"


def visit(ledger, signer, n: int, stream: str = "tilbud/T-1001") -> None:
    for i in range(n):
        ledger.record(signer, stream, "test.Note/1", {"text": f"observation {i}"})


def test_create_and_verify(ledger, keystore):
    karen = ledger.signer("Karen", keystore)
    visit(ledger, karen, 3)
    first = create_checkpoint(ledger, ledger.log)
    # Genesis, the rules in force, Karen's key, three notes — and the StreamHeads event it commits to.
    assert first.size == 7 and list(ledger.read())[-1].type == "ledger.StreamHeads/1"
    assert first.root == merkle.root([e.record_bytes for e in ledger.read()])
    # The note is a C2SP checkpoint signed with the genesis key under the origin's key name.
    body = parse_checkpoint(open_note(first.note, note_key_name(ledger.origin), ledger.log.public_key))
    assert (body.origin, body.size, body.root) == (ledger.origin, 7, first.root)
    assert create_checkpoint(ledger, ledger.log) == first  # nothing new to commit to
    visit(ledger, karen, 4)
    second = create_checkpoint(ledger, ledger.log)
    assert (second.id, second.size) != (first.id, first.size)
    report = verify_checkpoints(ledger)
    assert report.ok, report.problems
    assert (report.checkpoints, report.ledger_size, report.latest) == (2, 12, second)
    kernel, cps = verify_all(ledger)
    assert kernel.ok and cps.ok and "checkpoints" in kernel.checked


def test_only_the_log_key_signs_checkpoints(ledger, keystore):
    before = ledger.count()
    for person in (ledger.signer("Karen", keystore), ledger.authority_signer):  # not even the authority's own key
        with pytest.raises(AuthorizationError, match="ledger's log key"):
            create_checkpoint(ledger, person)
    assert list_checkpoints(ledger) == [] and ledger.count() == before


def test_a_tampered_note_is_reported(ledger, keystore):
    visit(ledger, ledger.signer("Karen", keystore), 2)
    cp = create_checkpoint(ledger, ledger.log)
    forged = cp.note.replace(f"\n{cp.size}\n", f"\n{cp.size - 1}\n", 1)
    with ledger.store.engine.begin() as conn:
        conn.execute(checkpoints.update().where(checkpoints.c.id == cp.id).values(note=forged))
    report = verify_checkpoints(ledger)
    assert not report.ok
    assert any("does not verify under the log key" in p.message for p in report.problems), report.problems


def test_a_root_that_no_longer_matches_is_reported(ledger, keystore):
    visit(ledger, ledger.signer("Karen", keystore), 4)
    cp = create_checkpoint(ledger, ledger.log)
    with ledger.store.engine.begin() as conn:  # rewrite one record and its leaf hash consistently
        rec = bytes(conn.execute(sa.select(events.c.record).where(events.c.seq == 4)).scalar())
        altered = rec.replace(b'"seq":4', b'"seq":4 ')
        conn.execute(events.update().where(events.c.seq == 4).values(record=altered, leaf_hash=leaf_hash(altered)))
    report = verify_checkpoints(ledger)
    assert [p.checkpoint_id for p in report.problems] == [cp.id]
    assert "does not match the root recomputed" in report.problems[0].message
    kernel, _ = verify_all(ledger)
    assert not kernel.ok


def test_a_truncated_ledger_is_reported(ledger, keystore):
    visit(ledger, ledger.signer("Karen", keystore), 5)
    cp = create_checkpoint(ledger, ledger.log)
    with ledger.store.engine.begin() as conn:  # drop the last two events and their tree nodes: no trace left
        conn.execute(events.delete().where(events.c.seq > cp.size - 2))
        conn.execute(sa.text("DELETE FROM merkle_nodes"))
    report = verify_checkpoints(ledger)
    assert not report.ok
    msg = report.problems[0].message
    assert "truncated" in msg and f"commits to {cp.size} events but the ledger has only {cp.size - 2}" in msg
    with pytest.raises(LedgerError, match="truncated"):
        create_checkpoint(ledger, ledger.log)


def test_consecutive_checkpoints_must_extend_one_another(ledger, keystore):
    karen = ledger.signer("Karen", keystore)
    visit(ledger, karen, 3)
    create_checkpoint(ledger, ledger.log)
    visit(ledger, karen, 3)
    later = create_checkpoint(ledger, ledger.log)
    # Swap in an older, genuine-looking checkpoint after the newer one: the ledger appears to shrink.
    older = list_checkpoints(ledger)[0]
    with ledger.store.engine.begin() as conn:
        conn.execute(checkpoints.insert().values(size=older.size, root=older.root, note=older.note,
                                                 created_at=later.created_at))
    report = verify_checkpoints(ledger)
    assert not report.ok
    # The copy is caught as such (a second row of a signed checkpoint), or as a ledger that shrank.
    assert any("the ledger shrank" in p.message or "a copied row" in p.message for p in report.problems), report.problems


# -- through the command line ------------------------------------------------------------------
@pytest.fixture
def run(ledger, db_url, keystore, policy, monkeypatch):
    """Invoke ``tilsyn`` on the fixture ledger, with the kernel test policy instead of the plugins'."""
    from tilsyn.cli.context import AppContext
    from tilsyn.cli.main import cli

    monkeypatch.setattr(AppContext, "policy", lambda self: policy)

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--db", db_url, "--home", str(keystore.home), *args])
    return invoke


def test_cli_checkpoint_and_verify(run, ledger, keystore):
    visit(ledger, ledger.signer("Karen", keystore), 3)
    refused = run("--as", "Karen", "checkpoint")
    assert refused.exit_code == 2 and "not an admin" in refused.stderr
    made = run("--as", AUTHORITY, "checkpoint", "--json")
    assert made.exit_code == 0, made.output
    cp = json.loads(made.stdout)
    assert cp["size"] == 7 and cp["new"] and cp["note"].startswith(ledger.origin + "\n7\n")
    again = run("--as", AUTHORITY, "checkpoint")
    assert again.exit_code == 0 and "already covers" in again.stdout
    ok = run("verify", "--json")
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.stdout)
    assert report["ok"] and report["checkpoints"]["count"] == 1 and report["checkpoints"]["ok"]
    human = run("verify")
    assert human.exit_code == 0 and "1 signed checkpoint matches the ledger" in human.stdout


def test_cli_verify_fails_on_a_truncated_ledger(run, ledger, keystore):
    visit(ledger, ledger.signer("Karen", keystore), 3)
    assert run("--as", AUTHORITY, "checkpoint").exit_code == 0
    with ledger.store.engine.begin() as conn:
        conn.execute(events.delete().where(events.c.seq == 7))
        conn.execute(sa.text("DELETE FROM merkle_nodes"))
    result = run("verify")
    assert result.exit_code == 1
    assert "FAILED at seq 7: checkpoint #1 (size 7)" in result.stderr and "truncated" in result.stderr
    as_json = json.loads(run("verify", "--json").stdout)
    assert not as_json["ok"] and not as_json["checkpoints"]["ok"]
