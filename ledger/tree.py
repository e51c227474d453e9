"""The ledger's Merkle tree, persisted in the ``merkle_nodes`` table next to the events.

Every :class:`~tilsyn.ledger.Ledger` owns a :class:`LedgerTree` (``ledger.tree``) whose
:meth:`LedgerTree.on_append` runs inside each append transaction, after the insert and under the write
lock. It writes the new complete-subtree nodes (see the storage scheme in :mod:`merkle`) on the same
connection, so the nodes commit or roll back together with the events: the table can never hold a
leaf the events table does not.

The tree keeps its right edge in memory so an append costs one read (the stored tip) and one
multi-row insert. Another process may have appended since this object last looked, or our own
transaction may have rolled back after we updated the right edge; so each append first compares the
stored tip — the number of leaves and the last leaf hash — with what it remembers and, if they differ,
re-reads the right edge from the table (O(log n) rows). A ledger written before the tree existed (events
but no nodes) is back-filled from the events' leaf hashes on first use.

Queries (:meth:`~LedgerTree.root`, :meth:`~LedgerTree.inclusion_proof`,
:meth:`~LedgerTree.consistency_proof`) need O(log n) nodes. Rather than one round trip per node, each
query is first run against a recording store that only notes *which* nodes the algorithm asks for —
that depends on the sizes and indices alone, never on hash values — and then again over those nodes,
fetched in one ``SELECT``.

Verification never trusts this table: :mod:`checkpoints` recomputes roots from the record bytes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .errors import StoreError
from .merkle import EMPTY_ROOT, MerkleTree, node_hash
from .store import Store, events, insert_rows, merkle_nodes

T = TypeVar("T")
_ZERO = bytes(32)
_BACKFILL_CHUNK = 5000
CATCH_UP_BELOW = 16
"""Appends smaller than this do not write tree nodes themselves (see :meth:`LedgerTree.on_append`)."""


class DbNodeStore:
    """A :class:`~tilsyn.ledger.merkle.NodeStore` over ``merkle_nodes``, bound to one connection."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def get(self, level: int, index: int) -> bytes | None:
        """The hash of node (level, index), or ``None``."""
        h = self.conn.execute(sa.select(merkle_nodes.c.hash).where(
            merkle_nodes.c.level == level, merkle_nodes.c.idx == index)).scalar()
        return bytes(h) if h is not None else None

    def get_many(self, wanted: Iterable[tuple[int, int]], chunk: int = 500) -> dict[tuple[int, int], bytes]:
        """Fetch many nodes in as few statements as possible (grouped by level, so the PK index serves)."""
        by_level: dict[int, list[int]] = defaultdict(list)
        for level, idx in wanted:
            by_level[level].append(idx)
        out: dict[tuple[int, int], bytes] = {}
        # One statement per level and chunk: a plain key range the primary key serves (an OR of several
        # levels made SQLite step through far more of the index), and few parameters on every backend.
        # Driver SQL: SQLAlchemy's expanding IN costs more per parameter than the query itself.
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        for level, idxs in by_level.items():
            idxs.sort()
            for i in range(0, len(idxs), chunk):
                part = idxs[i:i + chunk]
                rows = self.conn.exec_driver_sql(
                    f"SELECT idx, hash FROM merkle_nodes WHERE level = {mark} AND idx IN ({', '.join([mark] * len(part))})",
                    (level, *part)).fetchall()
                out.update(((level, idx), bytes(h)) for idx, h in rows)
        return out

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Insert ``(level, index, hash)`` triples on this connection (inside its transaction)."""
        insert_rows(self.conn, "merkle_nodes", ("level", "idx", "hash"), list(items))

    def tip(self) -> tuple[int, bytes | None]:
        """The number of leaves stored and the last leaf hash: one indexed read."""
        row = self.conn.execute(
            sa.select(merkle_nodes.c.idx, merkle_nodes.c.hash).where(merkle_nodes.c.level == 0)
            .order_by(merkle_nodes.c.idx.desc()).limit(1)).first()
        return (row.idx + 1, bytes(row.hash)) if row else (0, None)

    def size(self) -> int:
        """The number of leaves stored."""
        return self.tip()[0]


class _Recorder:
    """A node store that hands out dummy hashes and remembers which nodes were asked for."""

    def __init__(self, size: int):
        self._size = size
        self.wanted: set[tuple[int, int]] = set()

    def get(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return _ZERO

    def put_many(self, items) -> None:  # pragma: no cover - queries never write
        raise AssertionError("read-only")

    def size(self) -> int:
        return self._size


class _Fetched:
    """A read-only node store over nodes fetched in advance."""

    def __init__(self, size: int, nodes: dict[tuple[int, int], bytes]):
        self._size, self.nodes = size, nodes

    def get(self, level: int, index: int) -> bytes | None:
        return self.nodes.get((level, index))

    def put_many(self, items) -> None:  # pragma: no cover
        raise AssertionError("read-only")

    def size(self) -> int:
        return self._size


class RightEdge:
    """A compact range: folds leaf hashes in order keeping only the O(log n) right-edge subtrees.

    Used where the stored nodes must not be trusted (checkpoint verification). Complete nodes whose
    ``(level, index)`` is in ``keep`` are remembered as they are formed, so proofs over them can be
    built afterwards without a second pass.
    """

    def __init__(self, keep: Iterable[tuple[int, int]] = ()):
        self.size = 0
        self._edge: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
        self._keep = set(keep)
        self.kept: dict[tuple[int, int], bytes] = {}

    @classmethod
    def resume(cls, size: int, edge) -> "RightEdge":
        """Continue from a saved right edge (``(level, hash)`` pairs, see :meth:`edge`) of ``size`` leaves."""
        out = cls()
        out.size, out._edge = size, [(int(level), bytes(h)) for level, h in edge]
        if sum(1 << level for level, _ in out._edge) != size:
            raise ValueError("the saved right edge does not match its size")
        return out

    def edge(self) -> list[tuple[int, bytes]]:
        """The right edge as ``(level, hash)`` pairs, for :meth:`resume`."""
        return list(self._edge)

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        idx, level, h = self.size, 0, leaf
        if (0, idx) in self._keep:
            self.kept[(0, idx)] = h
        while self._edge and self._edge[-1][0] == level:
            h = node_hash(self._edge.pop()[1], h)
            level += 1
            if (level, idx >> level) in self._keep:
                self.kept[(level, idx >> level)] = h
        self._edge.append((level, h))
        self.size += 1

    def root(self) -> bytes:
        """The RFC 9162 root of the leaves so far (the right fold of the edge)."""
        if not self._edge:
            return EMPTY_ROOT
        h = self._edge[-1][1]
        for _, left in reversed(self._edge[:-1]):
            h = node_hash(left, h)
        return h


def nodes_needed(size: int, ask: Callable[[MerkleTree], object]) -> set[tuple[int, int]]:
    """Which stored nodes ``ask`` reads from a tree of ``size`` leaves (tree construction included)."""
    rec = _Recorder(size)
    ask(MerkleTree(rec))
    return rec.wanted


def answer_from(size: int, nodes: dict[tuple[int, int], bytes], ask: Callable[[MerkleTree], T]) -> T:
    """Run ``ask`` over a tree of ``size`` leaves whose needed nodes are given in ``nodes``."""
    try:
        return ask(MerkleTree(_Fetched(size, nodes)))
    except LookupError as e:
        raise StoreError(f"the Merkle tree is incomplete ({e}); run 'tilsyn verify'") from None


class LedgerTree:
    """The Merkle tree of one ledger: ``ledger.tree``. Every query costs O(log n) node reads."""

    def __init__(self, store: Store):
        self._store = store
        self._tree: MerkleTree | None = None  # right edge as last seen, bound to no connection
        self._last_leaf: bytes | None = None

    # -- writing -------------------------------------------------------------------------------
    def on_append(self, conn: Connection, appended: Sequence) -> None:
        """Append hook: add the new events' leaves, on the append's own connection and transaction.

        Appends of fewer than :data:`CATCH_UP_BELOW` events leave the table behind: their node rows would
        cost a sixth of a single-event append, and the table is only a cache (verification recomputes
        every root from the record bytes). The next larger append, query or checkpoint catches up from
        the events' leaf hashes (:meth:`sync_to`), so the table still never holds a leaf the events
        table does not.
        """
        if not appended or len(appended) < CATCH_UP_BELOW:
            return
        try:
            self._extend(conn, appended)
        except (StoreError, LookupError):
            # A damaged cache never stops an append: it is left as it is ('tilsyn verify' reports it)
            # and the next checkpoint rebuilds it from the records.
            self._tree, self._last_leaf = None, None

    def _extend(self, conn: Connection, appended: Sequence) -> None:
        first = appended[0]
        if self._tree is not None and self._tree.size == first.seq - 1 and first.seq > 1 \
                and self._last_leaf == bytes.fromhex(first.prev):
            # Under the write lock the events' head is the leaf before ``first``; our cached edge ends
            # at that very leaf, and nodes commit with their events, so the stored tip is the same.
            tree = self._tree
            tree.store = DbNodeStore(conn)
        else:
            tree = self.sync_to(conn, first.seq - 1)
        tree.extend(e.leaf_hash for e in appended)
        self._last_leaf = appended[-1].leaf_hash

    def sync_to(self, conn: Connection, upto: int) -> MerkleTree:
        """Bring the stored tree to exactly ``upto`` leaves and return it; call under the write lock."""
        nodes = DbNodeStore(conn)
        size, last = nodes.tip()
        if self._tree is None or self._tree.size != size or self._last_leaf != last:
            self._check_tail(conn, size)
            try:
                self._tree = MerkleTree(nodes)  # re-read the right edge: O(log n) rows
            except LookupError as e:
                raise StoreError(f"the merkle_nodes table is damaged ({e})") from None
            self._last_leaf = last
        else:
            self._tree.store = nodes  # the cached edge is current; just rebind the connection
        if size > upto:
            raise StoreError(
                f"the Merkle tree holds {size} leaves but the ledger only {upto} events: events were removed "
                "after they were sealed; run 'tilsyn verify'")
        if size:
            # The tree's last leaf must still be that event's: a row replaced since it was sealed (say,
            # removed and appended again while the table lagged) would otherwise be papered over.
            stored = conn.execute(sa.select(events.c.leaf_hash).where(events.c.seq == size)).scalar()
            if stored is None or bytes(stored) != last:
                raise StoreError(f"the Merkle tree's leaf {size} differs from event {size}: the events were "
                                 "changed after they were sealed; run 'tilsyn verify'")
        if size < upto:
            self._backfill(conn, self._tree, upto)
        return self._tree

    @staticmethod
    def _check_tail(conn: Connection, size: int) -> None:
        """Refuse a table holding a node beyond its tip of ``size`` leaves (one indexed probe per level):
        extending such a tree would collide with it."""
        level = 1
        while True:
            if (size >> level) == 0:
                beyond = conn.execute(sa.select(merkle_nodes.c.level).where(merkle_nodes.c.level >= level).limit(1)).first()
            else:
                beyond = conn.execute(sa.select(merkle_nodes.c.level).where(
                    merkle_nodes.c.level == level, merkle_nodes.c.idx >= size >> level).limit(1)).first()
            if beyond is not None:
                raise StoreError(f"the merkle_nodes table holds a node beyond its {size} leaves; run 'tilsyn verify'")
            if (size >> level) == 0:
                return
            level += 1

    def _backfill(self, conn: Connection, tree: MerkleTree, upto: int) -> None:
        # A ledger from before the tree existed: add the missing leaves from the events table in chunks.
        while tree.size < upto:
            rows = conn.execute(
                sa.select(events.c.seq, events.c.leaf_hash).where(events.c.seq > tree.size, events.c.seq <= upto)
                .order_by(events.c.seq).limit(_BACKFILL_CHUNK)).all()
            if not rows or rows[0].seq != tree.size + 1 or rows[-1].seq != tree.size + len(rows):
                raise StoreError(f"the events table has a gap after seq {tree.size}; run 'tilsyn verify'")
            tree.extend(bytes(r.leaf_hash) for r in rows)
            self._last_leaf = bytes(rows[-1].leaf_hash)

    def rebuild(self, conn: Connection, leaves: Sequence[bytes]) -> None:
        """Replace every stored node by the tree of ``leaves`` (call under the write lock, with leaves
        hashed afresh from the record bytes and checked against the verified root: see
        :meth:`~tilsyn.ledger.Ledger.rebuild_tree`)."""
        conn.execute(merkle_nodes.delete())
        self._tree, self._last_leaf = None, None
        tree = MerkleTree(DbNodeStore(conn))
        for i in range(0, len(leaves), _BACKFILL_CHUNK):
            tree.extend(leaves[i:i + _BACKFILL_CHUNK])
        self._tree, self._last_leaf = tree, (leaves[-1] if leaves else None)

    def ensure(self) -> None:
        """Catch the table up with the events if small appends (or an older ledger) left it behind;
        refuse a table that disagrees with the events (see :meth:`sync_to`)."""
        with self._store.reading() as conn:
            (size, last), head = DbNodeStore(conn).tip(), Store.head(conn)
        if head is not None and size == head.seq and last == head.leaf_hash:
            return
        with self._store.writing() as conn:
            head = Store.head(conn)
            self.sync_to(conn, head.seq if head else 0)

    # -- queries -------------------------------------------------------------------------------
    def _query(self, ask: Callable[[MerkleTree, int], T], size: int | None, conn: Connection | None) -> T:
        def run(c: Connection) -> T:
            current = DbNodeStore(c).size()
            n = current if size is None else size
            if not 0 <= n <= current:
                raise ValueError(f"tree size {n} not in [0, {current}]")
            wanted = nodes_needed(current, lambda t: ask(t, n))
            return answer_from(current, DbNodeStore(c).get_many(wanted), lambda t: ask(t, n))

        if conn is not None:
            return run(conn)
        self.ensure()
        with self._store.reading() as c:
            return run(c)

    def tree_size(self, conn: Connection | None = None) -> int:
        """The number of leaves in the tree (equal to the number of events)."""
        if conn is not None:
            return DbNodeStore(conn).size()
        self.ensure()
        with self._store.reading() as c:
            return DbNodeStore(c).size()

    def root(self, size: int | None = None, *, conn: Connection | None = None) -> bytes:
        """The RFC 9162 root hash of the first ``size`` events (default: all)."""
        return self._query(lambda t, n: t.root(n), size, conn)

    def inclusion_proof(self, seq: int, size: int | None = None, *, conn: Connection | None = None) -> list[bytes]:
        """The inclusion proof of event ``seq`` (1-based; leaf index ``seq - 1``) in the tree of ``size``."""
        return self._query(lambda t, n: t.inclusion_proof(seq - 1, n), size, conn)

    def inclusion_proofs(self, seqs: Sequence[int], size: int | None = None, *,
                         conn: Connection | None = None) -> dict[int, list[bytes]]:
        """Inclusion proofs of many events at once (one batched read of the nodes they share)."""
        return self._query(lambda t, n: {i + 1: p for i, p in t.inclusion_proofs([s - 1 for s in seqs], n).items()},
                           size, conn)

    def includes(self, leaves: Mapping[int, bytes], size: int, root: bytes, *,
                 conn: Connection | None = None) -> bool:
        """True if every ``{seq: leaf hash}`` is the leaf at its seq in the tree of ``size`` with ``root``.

        One walk over the tree instead of one inclusion proof per seq (:func:`merkle.root_with`): the
        stored nodes are only the siblings, as in a proof, so a wrong node or leaf gives another root.
        A caller that needs to name the failing seq checks single proofs on the way to its error.
        """
        if not leaves:
            return True
        index = {seq - 1: h for seq, h in leaves.items()}
        return self._query(lambda t, n: t.root_with(index, n), size, conn) == root

    def consistency_proof(self, old_size: int, new_size: int | None = None, *,
                          conn: Connection | None = None) -> list[bytes]:
        """The RFC 9162 consistency proof from ``old_size`` to ``new_size`` events (default: all)."""
        return self._query(lambda t, n: t.consistency_proof(old_size, n), new_size, conn)
