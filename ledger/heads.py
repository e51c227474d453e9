"""Stream heads: what every checkpoint commits to about each stream, so omissions can be proved.

A checkpoint alone says "these S records, in this order". It cannot tell a reader holding some of them
whether a stream has more events than they were shown. So the last record under every checkpoint is a
signed ``ledger.StreamHeads/1`` event on stream ``ledger/heads`` whose payload commits to a *heads map*:
for every stream with events among the records before it, the stream's last version, that event's seq
and its leaf hash. The checkpoint covers the event, the event covers the map; an evidence bundle carries
one map entry (with its proof) per stream it claims to hold in full, and each stream's versions run
1..v without gaps ending at exactly that record — so a cut stream, a dropped revocation or a stale
checkpoint cannot pass.

The commitment is in the log, not in the checkpoint note: C2SP discourages note extension lines (monitors
cannot audit them and witnesses make no statement about them), and a log event is auditable like any
other — ``verify`` recomputes every map from the record bytes and reports one that lies.

Map entries are text, one line per field, each ending in ``\\n``::

    <stream>\\n<stream_version>\\n<seq>\\n<lowercase hex leaf hash>\\n

sorted by the stream's UTF-8 bytes; the map root is the RFC 9162 Merkle tree hash over the entries as
leaves (the same hashing as the log). Stream names hold no whitespace, so the lines are unambiguous.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Iterable, Mapping

import msgspec

from .merkle import MerkleTree, leaf_hash as entry_leaf_hash, verify_inclusion

HEADS_STREAM = "ledger/heads"
STREAM_HEADS = "ledger.StreamHeads/1"


class StreamHeadsPayload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The payload of a StreamHeads event: the map over the first ``size`` records (all before it)."""

    size: int
    streams: int
    root: str  # base64 of the 32-byte map root


@dataclass(frozen=True)
class Head:
    """A stream's last event among the records a map describes."""

    version: int
    seq: int
    leaf: bytes


def entry_bytes(stream: str, head: Head) -> bytes:
    """The map entry of one stream (see the module docstring)."""
    return f"{stream}\n{head.version}\n{head.seq}\n{head.leaf.hex()}\n".encode("utf-8")


class HeadsMap:
    """The heads of every stream, sorted as the map orders them; answers roots and proofs."""

    def __init__(self, heads: Mapping[str, Head]):
        self.streams = sorted(heads, key=lambda s: s.encode("utf-8"))
        self.heads = dict(heads)
        self.index = {s: i for i, s in enumerate(self.streams)}
        self._tree = MerkleTree()
        self._tree.extend(entry_leaf_hash(entry_bytes(s, self.heads[s])) for s in self.streams)

    def __len__(self) -> int:
        return len(self.streams)

    def root(self) -> bytes:
        return self._tree.root()

    def proof(self, stream: str) -> list[bytes]:
        """The inclusion proof of ``stream``'s entry (raises ``KeyError`` for a stream not in the map)."""
        return self._tree.inclusion_proof(self.index[stream])

    def payload(self, size: int) -> dict:
        """The StreamHeads payload for a map over the first ``size`` records."""
        return {"size": size, "streams": len(self), "root": base64.b64encode(self.root()).decode("ascii")}


def verify_entry(stream: str, head: Head, index: int, count: int, proof: Iterable[bytes], root: bytes) -> bool:
    """True if ``(stream, head)`` is entry ``index`` of a map of ``count`` entries with ``root``."""
    return verify_inclusion(entry_leaf_hash(entry_bytes(stream, head)), index, count, list(proof), root)


def decode_payload(payload: dict) -> tuple[StreamHeadsPayload, bytes]:
    """The checked payload of a StreamHeads event and its 32-byte map root; ``ValueError`` if malformed."""
    try:
        p = msgspec.convert(payload, StreamHeadsPayload, strict=True)
        root = base64.b64decode(p.root.encode("ascii"), validate=True)
    except (msgspec.ValidationError, binascii.Error, UnicodeEncodeError) as e:
        raise ValueError(f"the StreamHeads payload is malformed ({e})") from None
    if len(root) != 32 or base64.b64encode(root).decode("ascii") != p.root:
        raise ValueError("the StreamHeads root is not canonical base64 of 32 bytes")
    if p.size < 0 or p.streams < 0:
        raise ValueError("the StreamHeads size and stream count cannot be negative")
    return p, root


class HeadsTracker:
    """Follows the records in seq order and checks each StreamHeads event against what came before.

    Used by ``verify``: it hashes every record itself, so a map that leaves a stream out, names an old
    head or a wrong leaf is reported at the StreamHeads event's seq.
    """

    def __init__(self) -> None:
        self.heads: dict[str, Head] = {}

    def check(self, seq: int, stream: str, type: str, payload: dict) -> str | None:
        """Before :meth:`add` of the same record: the problem with it if it is a lying StreamHeads event."""
        if type != STREAM_HEADS:
            return None
        if stream != HEADS_STREAM:
            return f"a StreamHeads event on stream {stream!r}, not {HEADS_STREAM!r}"
        try:
            p, root = decode_payload(payload)
        except ValueError as e:
            return str(e)
        if p.size != seq - 1:
            return f"the StreamHeads event at seq {seq} describes {p.size} records, not the {seq - 1} before it"
        m = HeadsMap(self.heads)
        if p.streams != len(m) or root != m.root():
            return (f"the StreamHeads event does not match the streams' heads recomputed from the records "
                    f"({len(m)} streams): it hides or misstates a stream's last event")
        return None

    def add(self, seq: int, stream: str, version: int, leaf: bytes) -> None:
        self.heads[stream] = Head(version, seq, leaf)


def heads_as_of(conn, size: int) -> dict[str, Head]:
    """Every stream's head among the first ``size`` records, read from the record bytes themselves.

    The indexed columns only pick the rows (one per stream); each head's stream, version and seq are
    then read from its record bytes and its leaf hash recomputed, so a row whose copies disagree with
    its bytes stops the caller instead of being signed into a map (``verify`` finds the rest).
    """
    from .envelope import decode_record, decode_statement, leaf_hash
    from .errors import StoreError

    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    latest = dict(conn.exec_driver_sql(
        "SELECT stream, MAX(stream_version) FROM events GROUP BY stream").fetchall())
    # Streams touched after ``size`` step back to their last version at or before it (usually none:
    # a map is built at the head, or for the last checkpoint).
    # (Deduplicated here, not by DISTINCT: SQLite would then scan the whole stream index instead of
    # seeking the few rows after ``size`` by seq — a second per million events.)
    touched = sorted({r[0] for r in conn.exec_driver_sql(
        f"SELECT stream FROM events WHERE seq > {mark}", (size,)).fetchall()})
    for stream in touched:
        v = conn.exec_driver_sql(f"SELECT MAX(stream_version) FROM events WHERE stream = {mark} AND seq <= {mark}",
                                 (stream, size)).scalar()
        if v is None:
            latest.pop(stream, None)
        else:
            latest[stream] = v
    out: dict[str, Head] = {}
    items = sorted(latest.items())
    for i in range(0, len(items), 400):
        part = items[i:i + 400]
        where = " OR ".join([f"(stream = {mark} AND stream_version = {mark})"] * len(part))
        params = tuple(x for pair in part for x in pair)
        for stream, version, seq, record in conn.exec_driver_sql(
                f"SELECT stream, stream_version, seq, record FROM events WHERE {where}", params).fetchall():
            record = bytes(record)
            try:
                rec = decode_record(record)
                stmt = decode_statement(rec.statement)
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                raise StoreError(f"the record at seq {seq} does not decode ({e}); run 'tilsyn verify'") from None
            if (rec.seq, stmt.stream, stmt.stream_version) != (seq, stream, version) or seq > size:
                raise StoreError(f"the indexed columns of seq {seq} differ from its record; run 'tilsyn verify'")
            out[stream] = Head(version, seq, leaf_hash(record))
    if len(out) != len(latest):
        raise StoreError("a stream's last event is missing from the events table; run 'tilsyn verify'")
    return out
