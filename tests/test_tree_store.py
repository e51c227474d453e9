"""The Merkle tree kept in the database: equal to the RFC list functions, atomic with the events."""

from __future__ import annotations

import pytest
from tilsyn.ledger.errors import DamagedError
import sqlalchemy as sa

from tilsyn.ledger import ConflictError, Ledger, StoreError, merkle
from tilsyn.ledger.store import events, merkle_nodes
from tilsyn.ledger.tree import CATCH_UP_BELOW, nodes_needed


def notes(ledger: Ledger, signer, stream: str, n: int) -> None:
    """Append ``n`` notes to ``stream`` in one batch."""
    v = ledger.stream_version(stream)
    stmts = [ledger.statement(signer, stream, "test.Note/1", {"text": f"note {i}", "n": i}, stream_version=v + 1 + i)
             for i in range(n)]
    ledger.append(signer.sign_many(stmts, workers=1))


def records(ledger: Ledger) -> list[bytes]:
    return [e.record_bytes for e in ledger.read()]


def node_count(ledger: Ledger) -> int:
    with ledger.store.reading() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(merkle_nodes)).scalar()


def assert_tree_matches(ledger: Ledger) -> None:
    """Every root, inclusion and consistency proof at every size equals the list-based reference."""
    leaves = records(ledger)
    assert ledger.tree.tree_size() == len(leaves)
    for n in range(1, len(leaves) + 1):
        prefix = leaves[:n]
        assert ledger.tree.root(n) == merkle.root(prefix)
        proofs = ledger.tree.inclusion_proofs(range(1, n + 1), n)
        for i in range(n):
            assert proofs[i + 1] == merkle.inclusion_proof(prefix, i)
        for m in range(1, n + 1):
            assert ledger.tree.consistency_proof(m, n) == merkle.consistency_proof(prefix, m)
    assert ledger.tree.root() == merkle.root(leaves)


def test_roots_and_proofs_equal_the_list_functions(ledger):
    authority = ledger.authority_signer
    for batch in (1, 3, 1, 7, 2, 13):  # sizes 2 (genesis + Karen) … 29, crossing several powers of two
        notes(ledger, authority, "tilbud/T-1001", batch)
        assert_tree_matches(ledger)
    leaves = records(ledger)
    seq = 17
    proof = ledger.tree.inclusion_proof(seq)
    assert merkle.verify_inclusion(merkle.leaf_hash(leaves[seq - 1]), seq - 1, len(leaves), proof, ledger.tree.root())


def test_queries_reject_out_of_range(ledger):
    n = ledger.tree.tree_size()
    with pytest.raises(IndexError):
        ledger.tree.inclusion_proof(n + 1)
    with pytest.raises(IndexError):
        ledger.tree.inclusion_proof(0)
    with pytest.raises(ValueError):
        ledger.tree.root(n + 1)
    with pytest.raises(ValueError):
        ledger.tree.consistency_proof(0)


def test_nodes_roll_back_with_a_conflicting_batch(ledger):
    authority = ledger.authority_signer
    notes(ledger, authority, "tilbud/T-1001", 3)
    root = ledger.tree.root()  # a query first catches the table up with the small appends
    before = node_count(ledger), root
    # Large enough for the append itself to write tree nodes (small ones leave that to the next query).
    stale = [ledger.statement(authority, "tilbud/T-2002", "test.Note/1", {"text": "ok"}, stream_version=i + 1)
             for i in range(CATCH_UP_BELOW)]
    stale.append(ledger.statement(authority, "tilbud/T-1001", "test.Note/1", {"text": "late"}, stream_version=2))
    with pytest.raises(ConflictError):
        ledger.append(authority.sign_many(stale, workers=1))
    assert (node_count(ledger), ledger.tree.root()) == before


def test_nodes_roll_back_when_the_transaction_fails_after_the_tree_hook(ledger):
    authority = ledger.authority_signer
    root = ledger.tree.root()
    before = node_count(ledger), root

    def explode(conn, appended):
        raise RuntimeError("disk full, say")

    ledger.add_append_hook(explode)  # runs after the tree hook: its nodes were written, then rolled back
    with pytest.raises(RuntimeError):
        notes(ledger, authority, "tilbud/T-1001", CATCH_UP_BELOW + 5)
    ledger._append_hooks.remove(explode)
    assert (node_count(ledger), ledger.tree.root()) == before
    # The tree object had already moved its right edge on; the next append must notice and resync.
    notes(ledger, authority, "tilbud/T-1001", 4)
    assert_tree_matches(ledger)


def test_backfill_of_a_ledger_without_nodes(ledger, db_url, policy, keystore):
    notes(ledger, ledger.authority_signer, "tilbud/T-1001", 9)
    with ledger.store.engine.begin() as conn:  # as if written before the tree existed
        conn.execute(merkle_nodes.delete())
    reader = Ledger.open(db_url, policy)
    try:
        assert_tree_matches(reader)  # the first query back-fills
    finally:
        reader.close()
    with ledger.store.engine.begin() as conn:
        conn.execute(merkle_nodes.delete())
    writer = Ledger.open(db_url, policy)
    try:
        # An append large enough to write nodes back-fills what is missing first.
        notes(writer, writer.signer("Karen", keystore), "tilbud/T-1001", CATCH_UP_BELOW)
        assert node_count(writer) > 0
        assert_tree_matches(writer)
    finally:
        writer.close()


def test_two_ledger_objects_appending_alternately_stay_consistent(ledger, db_url, policy, keystore):
    other = Ledger.open(db_url, policy)
    try:
        mine, theirs = ledger.authority_signer, other.signer("Karen", keystore)
        for round_ in range(6):
            notes(ledger, mine, "tilbud/T-1001", round_ % 3 + 1)
            notes(other, theirs, "tilbud/T-2002", (round_ + 1) % 4 + 1)
            leaves = records(ledger)
            assert ledger.tree.root() == other.tree.root() == merkle.root(leaves)
        assert_tree_matches(ledger)
    finally:
        other.close()


def test_a_tree_ahead_of_the_events_is_refused(ledger):
    """Rows deleted from the events table after they were sealed: appending must not paper over it."""
    notes(ledger, ledger.authority_signer, "tilbud/T-1001", 4)
    ledger.tree.root()  # the table catches up with the events
    with ledger.store.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(events.c.seq))).scalar()
        conn.execute(events.delete().where(events.c.seq == last))
    # The ledger object verified seq 6 itself: its removal is damage, named by seq, before the tree is asked.
    with pytest.raises(DamagedError, match=r"seq (\d+): events \1–\1, verified by this machine before, are gone"):
        notes(ledger, ledger.authority_signer, "tilbud/T-2002", CATCH_UP_BELOW)


def test_a_sealed_event_replaced_while_the_tree_lagged_is_refused(ledger):
    notes(ledger, ledger.authority_signer, "tilbud/T-1001", 4)
    ledger.tree.root()
    with ledger.store.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(events.c.seq))).scalar()
        conn.execute(events.delete().where(events.c.seq == last))
    ledger._verified = None  # as another process, which never saw the removed event, would see it
    notes(ledger, ledger.authority_signer, "tilbud/T-2002", 1)  # a new event takes the removed seq
    with pytest.raises(StoreError, match="differs from event"):
        ledger.tree.root()


def test_small_appends_leave_the_table_behind_until_a_query_catches_up(ledger):
    authority = ledger.authority_signer
    ledger.tree.root()
    caught_up = node_count(ledger)
    for i in range(3):
        notes(ledger, authority, f"tilbud/S-{i}", 1)
    assert node_count(ledger) == caught_up  # single events write no nodes of their own
    assert_tree_matches(ledger)  # … and a query catches up from the events' leaf hashes
    assert node_count(ledger) > caught_up


def test_includes_answers_as_the_single_proofs_do(ledger):
    """LedgerTree.includes: every seq of a stream in one walk over the stored nodes, true exactly when
    each seq's own inclusion proof verifies; a changed leaf or a changed stored node makes it false."""
    authority = ledger.authority_signer
    for batch in (5, 40, 3, 21):
        notes(ledger, authority, "tilbud/T-1001", batch)
        notes(ledger, authority, "tilbud/T-2002", 2)
    leaves = records(ledger)
    size, root = len(leaves), merkle.root(leaves)
    mine = {e.seq: e.leaf_hash for e in ledger.read(stream="tilbud/T-1001")}
    assert len(mine) == 69 and ledger.tree.includes(mine, size, root)
    proofs = ledger.tree.inclusion_proofs(sorted(mine), size)
    assert all(merkle.verify_inclusion(h, s - 1, size, proofs[s], root) for s, h in mine.items())
    with pytest.raises(IndexError):  # seqs beyond the size asked about are the caller's mistake
        ledger.tree.includes(mine, size - 5, merkle.root(leaves[:size - 5]))
    seq = sorted(mine)[40]
    assert not ledger.tree.includes({**mine, seq: merkle.leaf_hash(b"forged")}, size, root)
    assert not ledger.tree.includes(mine, size, merkle.root(leaves[:-1] + [b"other"]))
    # An insider changes one stored node the walk reads (a sibling of the stream's leaves).
    read = nodes_needed(size, lambda t: t.root_with({s - 1: h for s, h in mine.items()}, size))
    level, idx = max(n for n in read if not any(n[1] << n[0] <= s - 1 < (n[1] + 1) << n[0] for s in mine))
    with ledger.store.writing() as conn:
        conn.execute(merkle_nodes.update().where(merkle_nodes.c.level == level, merkle_nodes.c.idx == idx)
                     .values(hash=bytes(32)))
    assert not ledger.tree.includes(mine, size, root)
