"""Tests for tilsyn.ledger.merkle against a naive transcription of RFC 9162 §2.1."""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tilsyn.ledger import merkle
from tilsyn.ledger.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    MerkleTree,
    NodeStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

MAX_N = 64

# --------------------------------------------------------------------------
# Naive reference, transcribed from RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1.
# Recursive on the raw data D, deliberately sharing no code with the module.
# --------------------------------------------------------------------------


def HASH(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def largest_pow2_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = largest_pow2_below(n)
    return HASH(b"\x01" + MTH(D[:k]) + MTH(D[k:]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    n = len(D)
    if n == 1:
        return []
    k = largest_pow2_below(n)
    if m < k:
        return PATH(m, D[:k]) + [MTH(D[k:])]
    return PATH(m - k, D[k:]) + [MTH(D[:k])]


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = largest_pow2_below(n)
    if m <= k:
        return SUBPROOF(m, D[:k], b) + [MTH(D[k:])]
    return SUBPROOF(m - k, D[k:], False) + [MTH(D[:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    return SUBPROOF(m, D, True)


# "Shapes": the same recursions, recording only on which side each proof
# element is combined. Two claims with equal shapes make the RFC verifier do
# the exact same computation, so it cannot tell them apart: a proof for
# (index, size) also verifies for (index, size') against the *same root*
# when the shapes agree (e.g. index 0 in sizes 3 and 4). That is inherent to
# RFC 9162 — the root, not the proof, commits to the size — and is why a
# checkpoint signs size and root together.


def PATH_SHAPE(m: int, n: int) -> list[str]:
    if n == 1:
        return []
    k = largest_pow2_below(n)
    if m < k:
        return PATH_SHAPE(m, k) + ["R"]
    return PATH_SHAPE(m - k, n - k) + ["L"]


def SUBPROOF_SHAPE(m: int, n: int, b: bool = True) -> list[str]:
    if m == n:
        return [] if b else ["S"]
    k = largest_pow2_below(n)
    if m <= k:
        return SUBPROOF_SHAPE(m, k, b) + ["R"]
    return SUBPROOF_SHAPE(m - k, n - k, False) + ["L"]


@functools.lru_cache(maxsize=None)
def ref_proof(m: int, n: int) -> list[bytes]:
    return PROOF(m, DATA[:n])


def is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

DATA = [f"entry {i}".encode() * (i % 3 + 1) for i in range(MAX_N)]
ROOTS = {n: MTH(DATA[:n]) for n in range(MAX_N + 1)}


def flips(h: bytes, bits: Iterable[int]) -> Iterable[bytes]:
    for bit in bits:
        b = bytearray(h)
        b[bit // 8] ^= 1 << (bit % 8)
        yield bytes(b)


def some_bits(seed: int, count: int = 8) -> list[int]:
    """A few bit positions (always including the first and last bit)."""
    rng = random.Random(seed)
    return sorted({0, 255, *rng.sample(range(256), count)})


@pytest.fixture(scope="module")
def tree64() -> MerkleTree:
    t = MerkleTree(MemoryNodeStore())
    t.extend(leaf_hash(d) for d in DATA)
    return t


# --------------------------------------------------------------------------
# Known-answer tests (RFC 6962 reference implementation test vectors)
# --------------------------------------------------------------------------

CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based index, size, path)
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]
# (old size, new size, path)
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]


def test_empty_root() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert root([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"") == HASH(b"\x00")
    assert node_hash(b"a" * 32, b"b" * 32) == HASH(b"\x01" + b"a" * 32 + b"b" * 32)


def test_rfc6962_roots() -> None:
    t = MerkleTree()
    for n in range(len(CT_LEAVES) + 1):
        assert root(CT_LEAVES[:n]).hex() == CT_ROOTS[n]
        assert t.root().hex() == CT_ROOTS[n]
        if n < len(CT_LEAVES):
            t.append(leaf_hash(CT_LEAVES[n]))
    for n in range(len(CT_LEAVES) + 1):
        assert t.root(n).hex() == CT_ROOTS[n]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_rfc6962_inclusion(index: int, size: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    assert inclusion_proof(CT_LEAVES[:size], index) == proof
    t = MerkleTree()
    t.extend(leaf_hash(d) for d in CT_LEAVES)
    assert t.inclusion_proof(index, size) == proof
    root_hash = bytes.fromhex(CT_ROOTS[size])
    assert verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, proof, root_hash)


@pytest.mark.parametrize(("old", "new", "path"), CT_CONSISTENCY)
def test_rfc6962_consistency(old: int, new: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    assert consistency_proof(CT_LEAVES[:new], old) == proof
    t = MerkleTree()
    t.extend(leaf_hash(d) for d in CT_LEAVES)
    assert t.consistency_proof(old, new) == proof
    assert verify_consistency(
        old, new, proof, bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    )


# --------------------------------------------------------------------------
# Exhaustive cross-checks against the naive reference, sizes 1..64
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_roots_and_proofs_match_rfc(n: int, tree64: MerkleTree) -> None:
    D = DATA[:n]
    assert root(D) == ROOTS[n] == tree64.root(n)
    for i in range(n):
        expected = PATH(i, D)
        assert inclusion_proof(D, i) == expected
        assert tree64.inclusion_proof(i, n) == expected
        assert verify_inclusion(leaf_hash(D[i]), i, n, expected, ROOTS[n])
    for m in range(1, n + 1):
        expected = PROOF(m, D)
        assert consistency_proof(D, m) == expected
        assert tree64.consistency_proof(m, n) == expected
        assert verify_consistency(m, n, expected, ROOTS[m], ROOTS[n])


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_inclusion_tampering_rejected(n: int) -> None:
    D = DATA[:n]
    # Every bit for small trees; a sample of bits (incl. first and last) beyond.
    exhaustive = n <= 8
    for i in range(n):
        proof = PATH(i, D)
        lh, rt = leaf_hash(D[i]), ROOTS[n]
        bits = range(256) if exhaustive else some_bits(n * 1000 + i)
        for j in range(len(proof)):
            for bad in flips(proof[j], bits):
                assert not verify_inclusion(lh, i, n, proof[:j] + [bad] + proof[j + 1 :], rt)
        for bad in flips(lh, bits):
            assert not verify_inclusion(bad, i, n, proof, rt)
        for bad in flips(rt, bits):
            assert not verify_inclusion(lh, i, n, proof, bad)
        # Wrong length: truncated, extended, duplicated elements.
        if proof:
            assert not verify_inclusion(lh, i, n, proof[:-1], rt)
            assert not verify_inclusion(lh, i, n, proof[1:], rt)
        assert not verify_inclusion(lh, i, n, proof + [rt], rt)
        assert not verify_inclusion(lh, i, n, proof + [bytes(32)], rt)
        # Any other index in the same tree is rejected.
        for other in range(n + 3):
            if other != i:
                assert not verify_inclusion(lh, other, n, proof, rt)
        # Another size with that size's own root is rejected; with the same
        # root it is rejected exactly when the verifier's computation differs
        # (see the PATH_SHAPE comment).
        for size in range(0, MAX_N + 3):
            if size == n:
                continue
            if size in ROOTS and size > 0:
                assert not verify_inclusion(lh, i, size, proof, ROOTS[size])
            same_shape = i < size and PATH_SHAPE(i, size) == PATH_SHAPE(i, n)
            assert verify_inclusion(lh, i, size, proof, rt) == same_shape


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_consistency_tampering_rejected(n: int) -> None:
    exhaustive = n <= 8
    for m in range(1, n + 1):
        proof = ref_proof(m, n)
        old, new = ROOTS[m], ROOTS[n]
        bits = range(256) if exhaustive else some_bits(n * 1000 + m)
        for j in range(len(proof)):
            for bad in flips(proof[j], bits):
                assert not verify_consistency(m, n, proof[:j] + [bad] + proof[j + 1 :], old, new)
        for bad in flips(old, bits):
            assert not verify_consistency(m, n, proof, bad, new)
        for bad in flips(new, bits):
            assert not verify_consistency(m, n, proof, old, bad)
        if proof:
            assert not verify_consistency(m, n, proof[:-1], old, new)
            assert not verify_consistency(m, n, proof[1:], old, new)
        assert not verify_consistency(m, n, proof + [new], old, new)
        assert not verify_consistency(m, n, [old] + proof, old, new)
        # Changed sizes, one at a time. With the changed sizes' own roots only
        # a claim the proof genuinely proves can pass; with unchanged roots
        # only a claim on which the verifier computes exactly the same thing.
        changed = [(m2, n) for m2 in range(MAX_N + 2) if m2 != m]
        changed += [(m, n2) for n2 in range(MAX_N + 2) if n2 != n]
        for m2, n2 in changed:
            if 0 < m2 <= n2 <= MAX_N:
                genuine = m2 != n2 and ref_proof(m2, n2) == proof
                assert verify_consistency(m2, n2, proof, ROOTS[m2], ROOTS[n2]) == genuine
            same = (
                0 < m2 < n2
                and m < n
                and is_pow2(m2) == is_pow2(m)
                and SUBPROOF_SHAPE(m2, n2) == SUBPROOF_SHAPE(m, n)
            )
            assert verify_consistency(m2, n2, proof, old, new) == same, (m, n, m2, n2)


def test_consistency_edge_cases() -> None:
    r1, r2 = ROOTS[1], ROOTS[2]
    assert verify_consistency(2, 2, [], r2, r2)
    assert not verify_consistency(2, 2, [], r1, r2)  # equal sizes need equal roots
    assert not verify_consistency(2, 2, [r2], r2, r2)  # ... and an empty proof
    assert not verify_consistency(0, 2, [], EMPTY_ROOT, r2)  # size 0 is not provable
    assert not verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    assert not verify_consistency(2, 1, [], r2, r1)  # old > new
    assert not verify_consistency(1, 2, [], r1, r2)  # 0 < old < new needs a proof
    with pytest.raises(ValueError):
        consistency_proof(DATA[:4], 0)
    with pytest.raises(ValueError):
        consistency_proof(DATA[:4], 5)
    assert consistency_proof(DATA[:4], 4) == []


def test_inclusion_edge_cases() -> None:
    lh = leaf_hash(DATA[0])
    assert verify_inclusion(lh, 0, 1, [], lh)
    assert not verify_inclusion(lh, 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(lh, 1, 1, [], lh)
    with pytest.raises(IndexError):
        inclusion_proof(DATA[:4], 4)
    with pytest.raises(IndexError):
        inclusion_proof([], 0)


@pytest.mark.parametrize(
    "args",
    [
        (b"short", 0, 1, [], ROOTS[1]),
        (leaf_hash(DATA[0]), 0, 1, [], b"short"),
        (leaf_hash(DATA[0]), -1, 1, [], ROOTS[1]),
        (leaf_hash(DATA[0]), 0, -1, [], ROOTS[1]),
        (leaf_hash(DATA[0]), "0", 1, [], ROOTS[1]),
        (leaf_hash(DATA[0]), 0, 2, [b"x" * 31], ROOTS[2]),
        (leaf_hash(DATA[0]), 0, 2, None, ROOTS[2]),
        (leaf_hash(DATA[0]), 0, 2, b"x" * 32, ROOTS[2]),
        (None, None, None, None, None),
    ],
)
def test_verify_inclusion_malformed_never_raises(args: tuple) -> None:
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize(
    "args",
    [
        (1, 2, [b"x" * 33], ROOTS[1], ROOTS[2]),
        (1, 2, [leaf_hash(DATA[1])], ROOTS[1][:31], ROOTS[2]),
        (1.0, 2, [leaf_hash(DATA[1])], ROOTS[1], ROOTS[2]),
        (1, 2, "proof", ROOTS[1], ROOTS[2]),
        (-1, 2, [leaf_hash(DATA[1])], ROOTS[1], ROOTS[2]),
        (None, None, None, None, None),
    ],
)
def test_verify_consistency_malformed_never_raises(args: tuple) -> None:
    assert verify_consistency(*args) is False
    # The well-formed counterpart does verify, so the rejections above are
    # due to the malformation alone.
    assert verify_consistency(1, 2, [leaf_hash(DATA[1])], ROOTS[1], ROOTS[2])


# --------------------------------------------------------------------------
# MerkleTree: storage, scaling, equivalence for large random sizes
# --------------------------------------------------------------------------


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.puts = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.gets += 1
        return super().get(level, index)

    def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        items = list(items)
        self.puts += len(items)
        super().put_many(items)


def test_store_protocol_and_layout() -> None:
    store = MemoryNodeStore()
    assert isinstance(store, NodeStore)
    t = MerkleTree(store)
    t.extend(leaf_hash(d) for d in DATA[:5])
    # Only complete subtrees are stored: 5 leaves, [0,2) [2,4) at level 1, [0,4) at level 2.
    assert set(store.nodes) == {(0, i) for i in range(5)} | {(1, 0), (1, 1), (2, 0)}
    assert store.nodes[(2, 0)] == MTH(DATA[:4])
    assert store.nodes[(1, 1)] == MTH(DATA[2:4])
    assert store.size() == 5 == t.size == len(t)


def test_reopen_from_store() -> None:
    store = MemoryNodeStore()
    t = MerkleTree(store)
    for n, d in enumerate(DATA[:37], 1):
        t.append(leaf_hash(d))
        reopened = MerkleTree(store)
        assert reopened.size == n
        assert reopened.root() == ROOTS[n]
    reopened.extend(leaf_hash(d) for d in DATA[37:])
    assert reopened.root() == ROOTS[MAX_N]


def test_missing_node_is_reported() -> None:
    store = MemoryNodeStore()
    t = MerkleTree(store)
    t.extend(leaf_hash(d) for d in DATA[:8])
    del store.nodes[(1, 1)]
    with pytest.raises(LookupError):
        t.inclusion_proof(0, 6)
    with pytest.raises(LookupError):
        t.consistency_proof(2, 4)
    del store.nodes[(3, 0)]  # a frontier node: reopening must notice
    with pytest.raises(LookupError):
        MerkleTree(store)


def test_bad_arguments() -> None:
    t = MerkleTree()
    t.extend(leaf_hash(d) for d in DATA[:4])
    with pytest.raises(ValueError):
        t.append(b"not 32 bytes")
    assert t.size == 4
    with pytest.raises(ValueError):
        t.root(5)
    with pytest.raises(IndexError):
        t.inclusion_proof(4, 4)
    with pytest.raises(ValueError):
        t.consistency_proof(0, 4)
    with pytest.raises(ValueError):
        t.consistency_proof(3, 2)


def test_failed_put_leaves_tree_unchanged() -> None:
    class FailingStore(MemoryNodeStore):
        fail = False

        def put_many(self, items: Iterable[tuple[int, int, bytes]]) -> None:
            if self.fail:
                raise OSError("disk full")
            super().put_many(items)

    store = FailingStore()
    t = MerkleTree(store)
    t.extend(leaf_hash(d) for d in DATA[:3])
    store.fail = True
    with pytest.raises(OSError):
        t.append(leaf_hash(DATA[3]))
    assert t.size == 3 and t.root() == ROOTS[3]
    store.fail = False
    t.append(leaf_hash(DATA[3]))
    assert t.root() == ROOTS[4]


def test_logarithmic_cost() -> None:
    n = (1 << 15) + 12345
    store = CountingStore()
    t = MerkleTree(store)
    for start in range(0, n, 1000):  # batches, as a ledger would commit them
        t.extend(leaf_hash(i.to_bytes(4, "big")) for i in range(start, min(n, start + 1000)))
    assert store.puts < 2 * n  # amortised O(1) puts per leaf
    log_n = math.ceil(math.log2(n))
    rng = random.Random(7)
    for _ in range(200):
        size = rng.randint(1, n)
        store.gets = 0
        t.root(size)
        assert store.gets <= log_n + 1
        store.gets = 0
        t.inclusion_proof(rng.randrange(size), size)
        assert store.gets <= 2 * log_n + 1
        store.gets = 0
        t.consistency_proof(rng.randint(1, size), size)
        assert store.gets <= 2 * log_n + 1
    # Appending a single leaf reads nothing and writes at most log n + 1 nodes.
    store.gets = store.puts = 0
    t.append(leaf_hash(b"one more"))
    assert store.gets == 0 and store.puts <= log_n + 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=8),
    data=st.data(),
)
def test_tree_matches_lists_for_random_sizes(chunks: list[int], data: st.DataObject) -> None:
    """MerkleTree == list functions, for trees up to a few thousand leaves built in random batches."""
    total = sum(chunks)
    entries = [i.to_bytes(3, "big") for i in range(total)]
    store = MemoryNodeStore()
    t = MerkleTree(store)
    pos = 0
    for c in chunks:
        if c == 1:
            t.append(leaf_hash(entries[pos]))
        else:
            t.extend(leaf_hash(e) for e in entries[pos : pos + c])
        pos += c
    t = MerkleTree(store)  # also exercise reopening
    assert t.root() == root(entries)
    for _ in range(3):
        size = data.draw(st.integers(min_value=1, max_value=total), label="size")
        index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
        old = data.draw(st.integers(min_value=1, max_value=size), label="old")
        prefix = entries[:size]
        r = root(prefix)
        assert t.root(size) == r
        ip = t.inclusion_proof(index, size)
        assert ip == inclusion_proof(prefix, index)
        assert verify_inclusion(leaf_hash(entries[index]), index, size, ip, r)
        cp = t.consistency_proof(old, size)
        assert cp == consistency_proof(prefix, old)
        assert verify_consistency(old, size, cp, t.root(old), r)


def test_tree_matches_lists_around_powers_of_two() -> None:
    entries = [i.to_bytes(2, "big") for i in range(2100)]
    t = MerkleTree()
    t.extend(leaf_hash(e) for e in entries)
    for size in (1023, 1024, 1025, 2047, 2048, 2049, 2100):
        prefix = entries[:size]
        assert t.root(size) == root(prefix)
        for index in (0, 1, size // 2, 1023 % size, size - 2, size - 1):
            assert t.inclusion_proof(index, size) == inclusion_proof(prefix, index)
        for old in (o for o in (1, 2, 3, 511, 512, 513, 1024, size - 1, size) if o <= size):
            assert t.consistency_proof(old, size) == consistency_proof(prefix, old)


def test_module_has_docstrings() -> None:
    assert merkle.__doc__
    for name in merkle.__all__:
        obj = getattr(merkle, name)
        if callable(obj):
            assert obj.__doc__, name


# --------------------------------------------------------------------------
# Many leaves in one walk (root_with): the same statement as one proof each
# --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=MAX_N), data=st.data())
def test_root_with_equals_single_proofs(size: int, data: st.DataObject, tree64: MerkleTree) -> None:
    """Given true leaves, the walk gives the root; one wrong leaf among them gives another root, and
    exactly then does that leaf's own inclusion proof fail."""
    chosen = data.draw(st.sets(st.integers(min_value=0, max_value=size - 1), min_size=1), label="indices")
    leaves = {i: leaf_hash(DATA[i]) for i in chosen}
    assert tree64.root_with(leaves, size) == ROOTS[size]
    assert all(verify_inclusion(leaves[i], i, size, tree64.inclusion_proof(i, size), ROOTS[size]) for i in chosen)
    bad = data.draw(st.sampled_from(sorted(chosen)), label="altered")
    wrong = {**leaves, bad: leaf_hash(DATA[bad] + b"!")}
    assert tree64.root_with(wrong, size) != ROOTS[size]
    assert not verify_inclusion(wrong[bad], bad, size, tree64.inclusion_proof(bad, size), ROOTS[size])


def test_root_with_a_swapped_pair_or_a_wrong_stored_node_fails(tree64: MerkleTree) -> None:
    size = 45
    leaves = {i: leaf_hash(DATA[i]) for i in (3, 4, 30, 44)}
    swapped = {**leaves, 3: leaves[4], 4: leaves[3]}
    assert tree64.root_with(swapped, size) != ROOTS[size]
    # A stored sibling that lies (the node over leaves 8..15) is caught like a lying proof hash.
    store = MemoryNodeStore()
    store.nodes, store._size = dict(tree64.store.nodes), tree64.store.size()
    store.nodes[(3, 1)] = bytes(32)
    assert MerkleTree(store).root_with(leaves, size) != ROOTS[size]


def test_root_with_refuses_indices_outside_the_tree(tree64: MerkleTree) -> None:
    for leaves in ({}, {10: leaf_hash(DATA[10])}, {-1: leaf_hash(DATA[0])}):
        with pytest.raises(IndexError):
            tree64.root_with(leaves, 10)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=MAX_N), data=st.data())
def test_many_inclusion_proofs_at_once_equal_single_proofs(size: int, data: st.DataObject, tree64: MerkleTree) -> None:
    chosen = data.draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=1), label="indices")
    proofs = tree64.inclusion_proofs(chosen, size)
    assert set(proofs) == set(chosen)
    for i in chosen:
        assert proofs[i] == tree64.inclusion_proof(i, size) == inclusion_proof(DATA[:size], i)
    with pytest.raises(IndexError):
        tree64.inclusion_proofs([size], size)
    assert tree64.inclusion_proofs([], size) == {}
