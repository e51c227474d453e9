"""RFC 9162 §2.1 Merkle hash trees: roots, inclusion and consistency proofs.

Hashing (RFC 9162 §2.1.1, identical to RFC 6962 §2.1), with SHA-256:

* the hash of an empty list is ``SHA-256()`` (:data:`EMPTY_ROOT`);
* a leaf is hashed as ``SHA-256(0x00 || entry)`` (:func:`leaf_hash`);
* an interior node is hashed as ``SHA-256(0x01 || left || right)``
  (:func:`node_hash`).

The distinct 0x00/0x01 prefixes are domain separation: without them a
64-byte leaf could be passed off as an interior node (a second-preimage
attack on the tree). For ``n > 1`` leaves the tree is split at ``k``, the
largest power of two strictly smaller than ``n``: ``MTH(D[n]) =
node_hash(MTH(D[0:k]), MTH(D[k:n]))``. The left subtree is therefore always
perfect and only the right edge of the tree can be ragged.

Two ways to compute trees are provided:

* list-based functions (:func:`root`, :func:`inclusion_proof`,
  :func:`consistency_proof`) taking the raw entries, O(n) per call;
* :class:`MerkleTree`, which persists the hashes of complete subtrees in a
  :class:`NodeStore` so that roots and proofs for *any* historical size cost
  O(log n) store reads and hashes.

Both share one implementation of the RFC's PATH and SUBPROOF recursions,
parameterised by how the hash of a leaf range is obtained, so their outputs
are identical by construction (and the tests cross-check them anyway).

The verifiers (:func:`verify_inclusion`, :func:`verify_consistency`) follow
the RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms step by step and return
``False`` rather than raising on any malformed input.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryNodeStore",
    "MerkleTree",
    "NodeStore",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "root_with",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree."""

# A function returning MTH(D[lo:hi]) for 0 <= lo < hi <= size.
_RangeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash ``SHA-256(0x00 || data)`` of one entry."""
    return hashlib.sha256(b"\x00" + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------
# The RFC recursions, written iteratively and independent of storage.
# --------------------------------------------------------------------------


def _path(index: int, size: int, mth: _RangeHash) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), siblings ordered leaf → root.

    PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
                  = PATH(m - k, D[k:n]) : MTH(D[0:k])  if m >= k
    We walk from the root down collecting siblings, then reverse, because the
    recursion emits the deepest sibling first.
    """
    proof: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo += k
    proof.reverse()
    return proof


def _subproof(old_size: int, new_size: int, mth: _RangeHash) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m <= n.

    SUBPROOF(m, D[n], b) = {}                                  if m == n and b
                         = {MTH(D[n])}                         if m == n and not b
                         = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])      if m <= k
                         = SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k]) if m > k
    ``old_size`` stays absolute; the current subtree is D[lo:hi].
    """
    proof: list[bytes] = []
    lo, hi, b = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo += k
            b = False
    if not b:
        proof.append(mth(lo, hi))
    proof.reverse()
    return proof


def _paths(indices: Sequence[int], size: int, mth: _RangeHash) -> dict[int, list[bytes]]:
    """PATH(i, D[0:size]) for many indices in one descent: each sibling range is hashed once, however
    many of the paths pass it (the same siblings, in the same order, as :func:`_path` for each)."""
    wanted = sorted(set(indices))
    if wanted and (wanted[0] < 0 or wanted[-1] >= size):
        raise IndexError(f"leaf index out of range for tree size {size}")
    proofs: dict[int, list[bytes]] = {i: [] for i in wanted}
    stack = [(0, size, 0, len(wanted))] if wanted and size > 1 else []
    while stack:  # a range [lo, hi) holding wanted[first:last], descended from the root
        lo, hi, first, last = stack.pop()
        mid = lo + _split(hi - lo)
        cut = bisect_left(wanted, mid, first, last)
        for a, b, sib_lo, sib_hi, sub_lo, sub_hi in ((first, cut, mid, hi, lo, mid), (cut, last, lo, mid, mid, hi)):
            if a == b:
                continue
            h = mth(sib_lo, sib_hi)
            for i in wanted[a:b]:
                proofs[i].append(h)
            if sub_hi - sub_lo > 1:
                stack.append((sub_lo, sub_hi, a, b))
    for p in proofs.values():
        p.reverse()
    return proofs


def root_with(size: int, leaves: Mapping[int, bytes], mth: _RangeHash) -> bytes:
    """MTH(D[0:size]) with the leaves at the indices of ``leaves`` given by the caller.

    Every range holding none of those indices is taken from ``mth`` (stored nodes); the others are
    hashed up from the given leaves, each shared node once. The result equals the root exactly when
    every given leaf is the entry at its index — the same statement as one inclusion proof per leaf
    (each leaf's proof is made of the siblings met on its way up), but the paths' common nodes are
    hashed once: k leaves cost about k·log2(size/k) hashes instead of k·log2(size).
    """
    wanted = sorted(leaves)
    if not wanted or wanted[0] < 0 or wanted[-1] >= size:
        raise IndexError(f"leaf indices must lie in [0, {size}) and not be empty")

    def walk(lo: int, hi: int, first: int, last: int) -> bytes:
        # wanted[first:last] are the given indices inside [lo, hi).
        if first == last:
            return mth(lo, hi)
        if hi - lo == 1:
            return bytes(leaves[lo])
        mid = lo + _split(hi - lo)
        cut = bisect_left(wanted, mid, first, last)
        return node_hash(walk(lo, mid, first, cut), walk(mid, hi, cut, last))

    return walk(0, size, 0, len(wanted))


# --------------------------------------------------------------------------
# List-based API (raw entries in, O(n) work).
# --------------------------------------------------------------------------


def _list_mth(hashes: Sequence[bytes]) -> _RangeHash:
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return hashes[lo]
        k = _split(hi - lo)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return mth


def root(leaves: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]), the Merkle tree root of the raw entries ``leaves``.

    The empty list has root :data:`EMPTY_ROOT`.
    """
    if not leaves:
        return EMPTY_ROOT
    return _list_mth([leaf_hash(d) for d in leaves])(0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the RFC 9162 inclusion proof (audit path) of entry ``index`` (0-based).

    Raises ``IndexError`` if ``index`` is not in ``[0, len(leaves))``.
    """
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} out of range for tree size {len(leaves)}")
    return _path(index, len(leaves), _list_mth([leaf_hash(d) for d in leaves]))


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof from tree size ``old_size`` to ``len(leaves)``.

    The proof is empty when ``old_size == len(leaves)``. Raises ``ValueError``
    unless ``0 < old_size <= len(leaves)`` (the RFC defines no proof from the
    empty tree).
    """
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"old size {old_size} not in [1, {len(leaves)}]")
    return _subproof(old_size, len(leaves), _list_mth([leaf_hash(d) for d in leaves]))


# --------------------------------------------------------------------------
# Verification (RFC 9162 §2.1.3.2 and §2.1.4.2). Never raises.
# --------------------------------------------------------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_proof(proof: object) -> bool:
    if isinstance(proof, (bytes, bytearray, str)):
        return False
    return isinstance(proof, Sequence) and all(_is_hash(p) for p in proof)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check that ``leaf_hash`` is entry ``index`` of the size-``size`` tree with ``root``.

    Implements RFC 9162 §2.1.3.2. Returns ``False`` (never raises) for a bad
    proof or malformed input (``index >= size``, wrong proof length, hashes
    that are not 32 bytes, non-integer sizes, ...).

    Note that, as in the RFC, the proof binds the root, not the size on its
    own: callers must take ``size`` and ``root`` together from one verified
    checkpoint.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_size(index) and _is_size(size)):
        return False
    if not _is_proof(proof):
        return False
    # 1. leaf_index >= tree_size fails.
    if index >= size:
        return False
    # 2./3.
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    # 4.
    for p in proof:
        if sn == 0:  # a. proof too long
            return False
        if fn & 1 or fn == sn:  # b.
            r = node_hash(bytes(p), r)
            if not fn & 1:  # right edge: skip levels where we have no sibling
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, bytes(p))
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    return sn == 0 and r == bytes(root)


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> bool:
    """Check that the size-``old_size`` tree ``old_root`` is a prefix of ``new_root``.

    Implements RFC 9162 §2.1.4.2. Edge cases, following the RFC's
    definitions: ``old_size == new_size`` requires an empty proof and equal
    roots; ``old_size == 0`` has no defined proof and is rejected;
    ``old_size > new_size`` is rejected. Returns ``False`` (never raises)
    for any malformed input.
    """
    if not (_is_size(old_size) and _is_size(new_size) and _is_hash(old_root) and _is_hash(new_root)):
        return False
    if not _is_proof(proof):
        return False
    if old_size == 0 or old_size > new_size:
        return False
    if old_size == new_size:
        # PROOF(m, D[m]) = SUBPROOF(m, D[m], true) = {}.
        return len(proof) == 0 and bytes(old_root) == bytes(new_root)
    # 1. An empty path can never prove 0 < first < second.
    if len(proof) == 0:
        return False
    path = [bytes(p) for p in proof]
    # 2. A power-of-two old tree is a single node of the new tree, so the
    #    proof omits it: the verifier supplies it itself.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4. Skip the levels where the old tree's last node is a right child whose
    #    left part is inside the path's first element.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:  # a. proof too long
            return False
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return fr == bytes(old_root) and sr == bytes(new_root) and sn == 0


# --------------------------------------------------------------------------
# Persistent tree for a large ledger.
# --------------------------------------------------------------------------
#
# Storage scheme. Node (level L, index i) is the hash of the *perfect*
# subtree over leaves [i·2^L, (i+1)·2^L); level 0 holds the leaf hashes. A
# node is written exactly once, at the moment its last leaf is appended, and
# is immutable afterwards (an append-only tree never changes a complete
# subtree). Nodes over incomplete ranges are never stored: they change with
# every append and are recomputed on demand instead. There are < 2n nodes
# for n leaves, so appending costs amortised O(1) puts (one leaf plus, on
# average, one parent) and O(log n) hashes in the worst case.
#
# Why every query is O(log n). In the RFC recursion every subtree is a range
# D[lo:hi] whose left part D[lo:lo+k] (k a power of two, lo a multiple of k)
# is perfect, i.e. exactly one stored node. A range with a ragged right end
# is decomposed along the binary expansion of its length,
#     hi - lo = 2^a1 + 2^a2 + ...   (a1 > a2 > ...),
# into at most log2(n) aligned perfect pieces — each one stored node — and
# the RFC root is their right fold: node_hash(P1, node_hash(P2, ...)).
# Because a perfect piece of a historical tree of size m <= n is also
# complete (hence stored) in the current tree, this works for any m <= n.
# A root therefore costs O(log n) reads and hashes. A proof descends from the
# root, emitting one sibling per level (O(log n) levels); every sibling is
# perfect (one read) except at most one: the first time the descent leaves
# the ragged right edge, the right sibling it passes over is the only ragged
# range, and everything below that point is inside a perfect subtree.
# Hence proofs cost O(log n) reads and hashes too, independent of history.


@runtime_checkable
class NodeStore(Protocol):
    """Storage of complete-subtree hashes, e.g. a ``merkle_nodes(level, idx, hash)`` table."""

    def get(self, level: int, index: int) -> bytes | None:
        """Return the hash of node (level, index), or ``None`` if absent."""
        ...

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store ``(level, index, hash)`` triples; should be atomic for a database."""
        ...

    def size(self) -> int:
        """Return the number of leaves stored (the number of level-0 nodes)."""
        ...


class MemoryNodeStore:
    """A dict-backed :class:`NodeStore`, for tests and small in-memory trees."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0

    def get(self, level: int, index: int) -> bytes | None:
        """Return the hash of node (level, index), or ``None`` if absent."""
        return self.nodes.get((level, index))

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store ``(level, index, hash)`` triples."""
        for level, index, h in items:
            self.nodes[(level, index)] = bytes(h)
            if level == 0 and index >= self._size:
                self._size = index + 1

    def size(self) -> int:
        """Return the number of leaves stored."""
        return self._size


class MerkleTree:
    """An append-only RFC 9162 Merkle tree persisted in a :class:`NodeStore`.

    Feed it leaf hashes (see :func:`leaf_hash`) in order. Roots and proofs are
    available for every historical size and each costs O(log n) store reads
    and hashes (see the storage-scheme comment above).

    The instance keeps the right-edge "frontier" (the perfect subtrees making
    up the current tree) in memory so appends need no reads; it assumes it is
    the only writer to its store.
    """

    def __init__(self, store: NodeStore | None = None) -> None:
        """Open a tree over ``store`` (a fresh :class:`MemoryNodeStore` if omitted)."""
        self.store: NodeStore = store if store is not None else MemoryNodeStore()
        self._size = self.store.size()
        # frontier[L] is the right-edge perfect subtree of height L; present
        # iff bit L of the size is set.
        self._frontier: dict[int, bytes] = {}
        offset = 0
        for level in reversed(range(self._size.bit_length())):
            if self._size >> level & 1:
                self._frontier[level] = self._node(level, offset >> level)
                offset += 1 << level

    @property
    def size(self) -> int:
        """The number of leaves in the tree."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf hash: one put_many call, amortised O(1) nodes."""
        self.extend([leaf_hash])

    def extend(self, hashes: Iterable[bytes]) -> None:
        """Append leaf hashes in order, writing all new nodes in one ``put_many``.

        In-memory state is only updated once the store accepted the nodes, so
        a failing store leaves the tree unchanged.
        """
        size = self._size
        frontier = dict(self._frontier)
        items: list[tuple[int, int, bytes]] = []
        for h in hashes:
            if not _is_hash(h):
                raise ValueError("a leaf hash must be 32 bytes")
            h = bytes(h)
            items.append((0, size, h))
            size += 1
            level = 0
            # Adding 1 to the size carries through the low set bits: each
            # carry merges two equal perfect subtrees into a complete parent.
            while level in frontier:
                h = node_hash(frontier.pop(level), h)
                level += 1
                items.append((level, (size >> level) - 1, h))
            frontier[level] = h
        if items:
            self.store.put_many(items)
        self._size, self._frontier = size, frontier

    def _node(self, level: int, index: int) -> bytes:
        h = self.store.get(level, index)
        if h is None:
            raise LookupError(f"node store is missing node (level {level}, index {index})")
        return h

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) from at most log2(hi-lo)+1 stored perfect nodes.

        Valid for the ranges produced by the RFC recursion, whose start is
        aligned so that every piece of the binary decomposition is a node.
        """
        pieces: list[bytes] = []
        pos = lo
        while pos < hi:
            level = (hi - pos).bit_length() - 1
            assert pos % (1 << level) == 0, "unaligned range"
            pieces.append(self._node(level, pos >> level))
            pos += 1 << level
        h = pieces.pop()
        while pieces:
            h = node_hash(pieces.pop(), h)
        return h

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not 0 <= size <= self._size:
            raise ValueError(f"size {size} not in [0, {self._size}]")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the tree at ``size`` leaves (default: current size)."""
        size = self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        if size == self._size:
            # The frontier already holds the decomposition of the current size.
            levels = sorted(self._frontier)
            h = self._frontier[levels[0]]
            for level in levels[1:]:
                h = node_hash(self._frontier[level], h)
            return h
        return self._range_hash(0, size)

    def root_with(self, leaves: Mapping[int, bytes], size: int | None = None) -> bytes:
        """The root at ``size`` recomputed from the given ``{index: leaf hash}`` and stored nodes for the
        rest (see :func:`root_with`): equal to the signed root iff every given leaf is in the tree there."""
        return root_with(self._check_size(size), leaves, self._range_hash)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

        Raises ``IndexError`` if ``index`` is not in ``[0, size)``.
        """
        size = self._check_size(size)
        if not 0 <= index < size:
            raise IndexError(f"leaf index {index} out of range for tree size {size}")
        return _path(index, size, self._range_hash)

    def inclusion_proofs(self, indices: Iterable[int], size: int | None = None) -> dict[int, list[bytes]]:
        """The inclusion proofs of many leaves at once: ``{index: proof}``, each equal to
        :meth:`inclusion_proof` of that index, with the siblings the paths share read and hashed once."""
        return _paths(list(indices), self._check_size(size), self._range_hash)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the consistency proof from ``old_size`` to ``new_size`` (default: current).

        Raises ``ValueError`` unless ``0 < old_size <= new_size <= size``.
        """
        new_size = self._check_size(new_size)
        if not 0 < old_size <= new_size:
            raise ValueError(f"old size {old_size} not in [1, {new_size}]")
        return _subproof(old_size, new_size, self._range_hash)
