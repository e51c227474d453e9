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
from .policy import Policy
from .store import Store

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
            "checked": self.checked,
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

    def __init__(self, policy: Policy, report: Report):
        self.policy, self.report = policy, report
        self.registry = KeyRegistry()
        self.expected_seq = 1
        self.prev_hex = GENESIS_PREV
        self.prev_recorded = ""
        self.stream_versions: dict[str, int] = {}
        self.pubkeys: dict[str, Ed25519PublicKey] = {}
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
        lie = self.heads.check(seq, s.stream, s.type, s.payload)
        if lie:
            self.problem(seq, lie)
        self.heads.add(seq, s.stream, s.stream_version, actual_leaf)
        last = self.stream_versions.get(s.stream, 0)
        if s.stream_version != last + 1:
            self.problem(seq, f"stream {s.stream} jumps from version {last} to {s.stream_version}")
        self.stream_versions[s.stream] = s.stream_version
        # Keys: genesis registers itself; other key events take effect after they are authorised.
        try:
            if seq == 1 and s.type != identity.GENESIS:
                raise ValidationError("the first event is not the genesis event")
            if s.type == identity.GENESIS:
                self.registry.apply(seq, s)
            event_type = self.policy.get(s.type)
            info = self.registry.authorize(s, event_type.roles)
            self.policy.validate_payload(s.type, s.payload)
            if s.type != identity.GENESIS:
                self.registry.apply(seq, s)
        except (AuthorizationError, ValidationError) as e:
            self.problem(seq, str(e))
            info = self.registry.keys.get(s.key_id)
            if info is None:
                return None
        pub = self.pubkeys.get(info.key_id)
        if pub is None:
            pub = self.pubkeys[info.key_id] = Ed25519PublicKey.from_public_bytes(info.public_key)
        return (seq, pub, rec.signature, rec.statement)

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


def verify_ledger(
    store: Store, policy: Policy, *, progress: Callable[[int, int], None] | None = None,
    workers: int | None = None, chunk: int = 2000,
) -> Report:
    """Verify every record in ``store`` and return a :class:`Report`. Never raises on tampering."""
    report = Report()
    walker = _Walker(policy, report)
    workers = workers or os.cpu_count() or 1
    futures: list[Future] = []
    with store.reading() as conn, ThreadPoolExecutor(workers) as pool:
        total = store.count(conn)
        batch: list = []
        done = 0
        for row in store.iter_events(conn, chunk=chunk):
            try:
                item = walker.row(row)
            except LedgerError as e:  # a damaged key event, say: report it and go on
                walker.problem(row.seq, str(e))
                item = None
            if item is not None:
                batch.append(item)
            done += 1
            report.events += 1
            if len(batch) >= chunk:
                futures.append(pool.submit(_check_signatures, batch))
                batch = []
            if progress and done % chunk == 0:
                progress(done, total)
        if batch:
            futures.append(pool.submit(_check_signatures, batch))
        walker.finish()
        for f in futures:
            for p in f.result():
                walker.problem(p.seq, p.message)
        if progress:
            progress(done, total)
    report.head_hash = walker.prev_hex if report.events else ""
    report.checked = ["signatures", "prev links", "gap-free seq", "recorded_at order", "indexed columns",
                      "stream versions", "key validity and roles", "payload schemas", "stream heads"]
    return report
