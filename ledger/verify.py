"""Verification: re-check the whole ledger from the stored bytes alone.

For every row, in ``seq`` order: ``seq`` is the next number (no gaps, no reordering); the stored leaf
hash is the hash of the record bytes; the record decodes and names the same ``seq``; ``prev`` is the
leaf hash of the record before; ``recorded_at`` never decreases; the statement bytes decode, match the
indexed columns and follow their stream's versions; the signature over the *stored* statement bytes
verifies under the signer's key; that key was registered, not revoked, and held a role the event type
requires at that position; the payload fits its type's schema.

Signature checks dominate the cost and release the GIL, so they run in a thread pool, chunk by chunk,
while the main thread walks the chain.

Attributing a broken ``prev`` link: if the link into record N+1 is broken but the link out of N+1 holds,
record N+1 is intact and record N was altered; if both links are broken, N+1 itself was altered.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import identity, timefmt
from .envelope import GENESIS_PREV, decode_record, decode_statement, encode_record, leaf_hash
from .errors import AuthorizationError, LedgerError, ValidationError
from .heads import HeadsTracker
from .identity import KeyRegistry
from .policy import SUBJECT_ERASED, SUBJECT_FIELD, SUBJECTS_STREAM, Policy
from .store import Store
from .tree import RightEdge
from .trust import ZERO_DIGEST, StreamMark, Verified, extend_digest

MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong, at one position."""

    seq: int
    message: str


@dataclass
class Report:
    """The outcome of :func:`verify_ledger`."""

    events: int = 0
    head_hash: str = ""
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    not_detectable: str = ""
    walker: object = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def to_dict(self) -> dict:
        first = self.first
        return {
            "ok": self.ok, "events": self.events, "head_hash": self.head_hash,
            "first_bad_seq": first.seq if first else None, "first_problem": first.message if first else None,
            "problems": [{"seq": p.seq, "message": p.message} for p in sorted(self.problems, key=lambda p: p.seq)],
            "checked": self.checked, "not_detectable": self.not_detectable,
        }


def _check_signatures(items: list[tuple[int, Ed25519PublicKey, bytes, bytes]]) -> list[Problem]:
    bad = []
    for seq, pub, sig, data in items:
        try:
            pub.verify(sig, data)
        except InvalidSignature:
            bad.append(Problem(seq, "the signature does not verify over the stored statement bytes"))
    return bad


class _Walker:
    """The sequential part of verification, one row at a time."""

    def __init__(self, policy: Policy, report: Report, start: Verified | None = None,
                 registry: KeyRegistry | None = None):
        self.policy, self.report = policy, report
        self.registry = registry if registry is not None else KeyRegistry()
        # Per stream [version, last seq, digest over its leaf hashes] (see trust.py).
        self.streams: dict[str, list] = {}
        self.erased: dict[str, int] = {}  # subject → seq of its signed erasure event
        self.subject_refs: dict[str, int] = {}  # subject → first seq carrying sealed data about them
        self.genesis = b""
        if start is not None and start.seq:
            self.expected_seq, self.prev_hex, self.prev_recorded = start.seq + 1, start.leaf.hex(), start.recorded_at
            self.streams = {k: [m.version, m.seq, m.digest] for k, m in start.streams.items()}
            self.edge = RightEdge.resume(start.seq, start.edge)
            self.erased = dict(start.erased)
            self.genesis = start.genesis
        else:
            self.expected_seq, self.prev_hex, self.prev_recorded = 1, GENESIS_PREV, ""
            self.edge = RightEdge()
        self.pubkeys: dict[str, Ed25519PublicKey] = {}
        # Every leaf hash in order, for checking the Merkle node cache (a full verification only).
        self.leaves: bytearray | None = bytearray() if start is None else None
        self.lenient_types = False
        self.pending_link: int | None = None  # seq N+1 whose incoming link was broken
        self.pending_evident = False  # … and whether that row already showed its own damage
        self.heads = HeadsTracker()  # every stream's last event, to check each StreamHeads event (heads.py)

    def problem(self, seq: int, message: str) -> None:
        if len(self.report.problems) < MAX_PROBLEMS:
            self.report.problems.append(Problem(seq, message))

    def row(self, row) -> tuple[int, Ed25519PublicKey, bytes, bytes] | None:
        seq = row.seq
        if seq != self.expected_seq:
            self.problem(min(seq, self.expected_seq),
                         f"expected seq {self.expected_seq} next but found seq {seq} (a record is missing or out of order)")
        self.expected_seq = seq + 1
        actual_leaf = leaf_hash(row.record)
        self.edge.add(actual_leaf)
        if self.leaves is not None:
            self.leaves += actual_leaf
        if seq == 1:
            self.genesis = actual_leaf
        evident = actual_leaf != row.leaf_hash
        if evident:
            self.problem(seq, "the record bytes do not match the stored leaf hash (the record was altered)")
        try:
            rec = decode_record(row.record)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.problem(seq, f"the record bytes do not decode ({e})")
            self._link_result(seq, broken=True, evident=True)
            self.prev_hex = actual_leaf.hex()
            return None
        if encode_record(rec) != row.record:
            # Same content, other bytes (e.g. base64 with different unused bits): still a changed record.
            evident = True
            self.problem(seq, "the record bytes are not in canonical form (the record was altered)")
        if rec.seq != seq:
            evident = True
            self.problem(seq, f"the row at seq {seq} holds the record of seq {rec.seq} (rows were swapped or moved)")
        self._link_result(seq, broken=rec.prev != self.prev_hex, evident=evident)
        self.prev_hex = actual_leaf.hex()
        if not timefmt.is_canonical(rec.recorded_at):
            self.problem(seq, f"recorded_at {rec.recorded_at!r} is not a canonical timestamp")
        elif rec.recorded_at < self.prev_recorded:
            self.problem(seq, f"recorded_at {rec.recorded_at} is earlier than the previous record's {self.prev_recorded} (back-dated)")
        self.prev_recorded = max(self.prev_recorded, rec.recorded_at)
        try:
            s = decode_statement(rec.statement)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            self.problem(seq, f"the statement bytes do not decode ({e})")
            return None
        copies = {"stream": s.stream, "stream_version": s.stream_version, "type": s.type, "actor": s.actor,
                  "occurred_at": s.occurred_at, "recorded_at": rec.recorded_at}
        for col, value in copies.items():
            if getattr(row, col) != value:
                self.problem(seq, f"the indexed column {col} ({getattr(row, col)!r}) differs from the signed record ({value!r})")
        # (A catch-up from a verified prefix has no heads before it: 'tilsyn verify' checks them all.)
        lie = None if self.lenient_types else self.heads.check(seq, s.stream, s.type, s.payload)
        if lie:
            self.problem(seq, lie)
        self.heads.add(seq, s.stream, s.stream_version, actual_leaf)
        mark = self.streams.get(s.stream)
        last = mark[0] if mark else 0
        if s.stream_version != last + 1:
            self.problem(seq, f"stream {s.stream} jumps from version {last} to {s.stream_version}")
        self.streams[s.stream] = [s.stream_version, seq, extend_digest(mark[2] if mark else ZERO_DIGEST, actual_leaf)]
        # Keys: genesis registers itself; other key events take effect after they are authorised.
        try:
            if seq == 1 and s.type != identity.GENESIS:
                raise ValidationError("the first event is not the genesis event")
            if s.type == identity.GENESIS:
                self.registry.apply(seq, s)
            if self.lenient_types and s.type not in self.policy.types:
                # Opening with a policy that lacks some plugin's types (a tool of another layer): the
                # key, its owner and the signature are still checked; roles and schema by 'tilsyn verify'.
                self.registry.check_ledger(s)
                info = self.registry.keys.get(s.key_id)
                if info is None or info.actor != s.actor:
                    raise AuthorizationError(f"key {s.key_id} of {s.actor!r} is not registered in this ledger")
                return self._sig(seq, info, rec)
            event_type = self.policy.get(s.type)
            info = self.registry.authorize(s, event_type.roles)
            self.policy.validate_payload(s.type, s.payload)
            if s.type != identity.GENESIS:
                self.registry.apply(seq, s)
            self._note_subjects(seq, s, event_type)
        except (AuthorizationError, ValidationError) as e:
            self.problem(seq, str(e))
            info = self.registry.keys.get(s.key_id)
            if info is None:
                return None
        return self._sig(seq, info, rec)

    def _sig(self, seq, info, rec):
        pub = self.pubkeys.get(info.key_id)
        if pub is None:
            pub = self.pubkeys[info.key_id] = Ed25519PublicKey.from_public_bytes(info.public_key)
        return (seq, pub, rec.signature, rec.statement)

    def _note_subjects(self, seq: int, s, event_type) -> None:
        # Erasures and the data subjects whose sealed data the events carry: their key rows are checked
        # against these afterwards (a key destroyed or deleted without a signed erasure is damage).
        if s.type == SUBJECT_ERASED and s.stream == SUBJECTS_STREAM:
            subject = s.payload.get("subject")
            if isinstance(subject, str):
                self.erased.setdefault(subject, seq)
        payloads = [s.payload]
        replacement = s.payload.get("replacement")
        if isinstance(replacement, dict):
            payloads.append(replacement)
        for p in payloads:
            subject = p.get(SUBJECT_FIELD)
            if isinstance(subject, str) and any(isinstance(v, str) and v.startswith("tilsyn-enc:") for v in p.values()):
                self.subject_refs.setdefault(subject, seq)

    def state(self, url: str) -> Verified:
        """What was verified, as a :class:`~tilsyn.ledger.trust.Verified` (call only after a clean scan)."""
        return Verified(url=url, genesis=self.genesis, seq=self.expected_seq - 1,
                        leaf=bytes.fromhex(self.prev_hex) if self.expected_seq > 1 else b"",
                        recorded_at=self.prev_recorded, edge=list(self.edge.edge()),
                        streams={k: StreamMark(v[0], v[1], v[2]) for k, v in self.streams.items()},
                        erased=dict(self.erased))

    def _link_result(self, seq: int, broken: bool, evident: bool = False) -> None:
        # ``evident``: this row already showed damage of its own (bad leaf hash, not canonical, the record
        # of another seq). Then a broken link into it is explained by that row, and its intact-looking
        # outgoing link (say, a copy of record N placed after N) is no evidence against the row before.
        if self.pending_link is not None:
            n1 = self.pending_link
            if broken and seq == n1 + 1:
                self.problem(n1, "the record was altered (its hash matches neither neighbour)")
            elif not self.pending_evident:
                self.problem(n1 - 1, f"the record was altered (seq {n1} names a different hash as prev)")
            self.pending_link = None
        if broken:
            self.pending_link, self.pending_evident = seq, evident

    def finish(self) -> None:
        if self.pending_link is not None and not self.pending_evident:
            n1 = self.pending_link
            self.problem(n1, f"prev of seq {n1} does not match the hash of seq {n1 - 1} (one of the two was altered)")


def scan(conn, store: Store, walker: _Walker, *, after_seq: int = 0, until_seq: int | None = None,
         progress: Callable[[int, int], None] | None = None, workers: int | None = None, chunk: int = 2000,
         total: int = 0) -> None:
    """Walk the rows after ``after_seq`` (to ``until_seq``) through ``walker``; signatures on a thread pool.

    Never raises on tampering: every problem lands in the walker's report.
    """
    report = walker.report
    workers = workers or os.cpu_count() or 1
    futures: list[Future] = []
    pool: ThreadPoolExecutor | None = None
    batch: list = []
    done = 0
    try:
        for row in store.iter_events(conn, after_seq=after_seq, until_seq=until_seq, chunk=chunk):
            try:
                item = walker.row(row)
            except Exception as e:  # noqa: BLE001 - whatever a damaged row makes a check raise, it is damage
                walker.problem(row.seq, f"the event cannot be checked ({type(e).__name__}: {e})")
                item = None
            if item is not None:
                batch.append(item)
            done += 1
            report.events += 1
            if len(batch) >= chunk:
                if pool is None:
                    pool = ThreadPoolExecutor(workers)
                futures.append(pool.submit(_check_signatures, batch))
                batch = []
            if progress and done % chunk == 0:
                progress(done, total)
        if batch:  # a short tail (one append by another writer, say) is checked right here
            for p in _check_signatures(batch):
                walker.problem(p.seq, p.message)
        walker.finish()
        for f in futures:
            for p in f.result():
                walker.problem(p.seq, p.message)
    finally:
        if pool is not None:
            pool.shutdown()
    if progress:
        progress(done, total)


def verify_ledger(
    store: Store, policy: Policy, *, progress: Callable[[int, int], None] | None = None,
    workers: int | None = None, chunk: int = 2000, kek: bytes | None = None,
) -> Report:
    """Verify every record in ``store`` and return a :class:`Report`. Never raises on tampering.

    Reads the stored bytes only and depends on nothing :meth:`Ledger.open` folds. Besides the events it
    checks the subject keys against the signed erasures (and, given the ``kek``, that each key opens)
    and the Merkle node cache against the records.
    """
    report = Report()
    walker = _Walker(policy, report)
    try:
        with store.reading() as conn:
            total = store.count(conn)
            scan(conn, store, walker, progress=progress, workers=workers, chunk=chunk, total=total)
            _check_subject_keys(conn, walker, kek)
            _check_merkle_nodes(conn, walker, total)
    except Exception as e:  # noqa: BLE001 - verify never breaks: a table it cannot read is a finding too
        walker.problem(walker.expected_seq, f"verification could not read on ({type(e).__name__}: {e})")
    report.head_hash = walker.prev_hex if report.events else ""
    report.checked = ["signatures", "prev links", "gap-free seq", "recorded_at order", "indexed columns",
                      "stream versions", "key validity and roles", "payload schemas", "stream heads", "subject keys and erasures",
                      "merkle node cache"]
    report.not_detectable = NOT_DETECTABLE
    report.walker = walker
    return report


NOT_DETECTABLE = ("events removed from the end of the ledger after the newest signed checkpoint (a truncated "
                  "tail) cannot be detected from the database alone; keep checkpoints outside it (witnesses, "
                  "receipts, bundles) and sign one after every session")


def _check_subject_keys(conn, walker: _Walker, kek: bytes | None) -> None:
    """Each subject key row against the signed events: no erasure without its event, no key after one."""
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table("subject_keys"):
        rows = []
    else:
        rows = conn.exec_driver_sql(
            "SELECT subject, wrapped, kek_id, erased_at, erase_reason, erase_seq FROM subject_keys").fetchall()
    seen = set()
    for subject, wrapped, kid, erased_at, reason, erase_seq in rows:
        seen.add(subject)
        erased = walker.erased.get(subject)
        first = walker.subject_refs.get(subject, erased or 1)
        if wrapped is None:
            if erased is None:
                walker.problem(first, f"the key of data subject {subject!r} was destroyed without a signed erasure "
                                      "event (a faked erasure)")
            elif erase_seq != erased:
                walker.problem(erased, f"the key row of data subject {subject!r} names erasure seq {erase_seq!r}, "
                                       f"but the signed erasure is seq {erased}")
            continue
        if erased is not None:
            walker.problem(erased, f"data subject {subject!r} was erased at seq {erased} but the key row still holds "
                                   "a key")
            continue
        if kek is not None:
            from .personal import kek_id, unwrap_ok
            if kid != kek_id(kek) or not unwrap_ok(kek, subject, bytes(wrapped)):
                walker.problem(first, f"the key of data subject {subject!r} does not open under the operator's KEK "
                                      "(the subject_keys row was altered)")
    for subject, seq in walker.subject_refs.items():
        if subject not in seen:
            walker.problem(seq, f"the key of data subject {subject!r} is missing from subject_keys"
                                + (" (its erasure tombstone was deleted)" if subject in walker.erased
                                   else ", without a signed erasure event (a faked erasure)"))


def _check_merkle_nodes(conn, walker: _Walker, total: int) -> None:
    """The Merkle node cache against the tree of the records: every stored node must be the real one,
    and the table must hold every complete node up to its tip (it may lag behind the events: small
    appends leave the tail to the next checkpoint; a hole below the tip, or a node beyond it, is damage).

    A wrong node is reported at the first seq it covers — unless a record it covers is damaged itself:
    then the node only disagrees because of that record, which is reported already.
    """
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table("merkle_nodes"):
        return
    size = walker.expected_seq - 1
    rows = conn.exec_driver_sql("SELECT level, idx, hash FROM merkle_nodes ORDER BY level, idx").fetchall()
    if not rows:
        return
    by_level: dict[int, dict[int, bytes]] = {}
    for level, idx, h in rows:
        by_level.setdefault(level, {})[idx] = bytes(h)
    leaves = walker.leaves
    if leaves is None:
        return
    from .merkle import node_hash
    damaged = sorted({p.seq for p in walker.report.problems})

    def explained(first: int, last: int) -> bool:
        return any(first <= seq <= last for seq in damaged)

    # The tip the table claims: the end of the rightmost leaf any stored node covers.
    tip = max((max(nodes) + 1) << level for level, nodes in by_level.items())
    current = [bytes(leaves[i:i + 32]) for i in range(0, len(leaves), 32)]
    bad: list[tuple[int, str]] = []
    for level in range(0, max(by_level) + 1):
        nodes = by_level.get(level, {})
        for idx in range(tip >> level):
            first, last = idx * (1 << level) + 1, (idx + 1) * (1 << level)
            h = nodes.get(idx)
            if h is None:
                if first <= size:
                    bad.append((first, f"the Merkle node cache lacks node (level {level}, index {idx}) covering seq "
                                       f"{first}–{last} below its tip (a node was deleted)"))
            elif idx >= len(current):
                bad.append((size + 1, f"the Merkle node cache holds node (level {level}, index {idx}) "
                                                 f"covering seq {first}–{last}, beyond the {size} events: it outruns "
                                                 "the events"))
            elif current[idx] != h and not explained(first, last):
                bad.append((first, f"the Merkle node cache is wrong at node (level {level}, index {idx}) covering "
                                   f"seq {first}–{last}: it disagrees with the records"))
        current = [node_hash(current[i], current[i + 1]) for i in range(0, len(current) - 1, 2)]
    for seq, msg in sorted(bad)[:3]:
        walker.problem(seq, msg)
