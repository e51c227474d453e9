"""Snapshots of tilbud projections: a cache keyed by stream and projection version.

A snapshot is the JSON of a :class:`TilbudState` after folding up to some seq. Reads start from the
newest usable snapshot and fold only what came after. A snapshot of another projection version is
ignored, so changing the fold never serves stale state. Losing the table loses nothing but speed.

The table is in the database, so a database-only insider could write any row into it. Each snapshot is
therefore bound to the events it stands for — the verified mark of its stream at its seq (version,
seq, digest over the stream's leaf hashes, see ``tilsyn.ledger.trust``) — and authenticated by an HMAC
under this machine's trust secret, which never enters the database. A reader uses a snapshot only if
its HMAC holds; it then reads the stream's later events continuing the snapshot's digest, so the state
shown rests on exactly the verified events. Anything else (forged, from another machine, damaged) is
ignored and rebuilt. ``tilsyn verify`` recomputes every snapshot from the events (:func:`verify_snapshots`).
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from tilsyn.ledger.trust import StreamMark

from . import projection

metadata = sa.MetaData()

snapshots = sa.Table(
    "projection_snapshots", metadata,
    sa.Column("stream", sa.String(255), primary_key=True),
    sa.Column("projection_version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("state", sa.LargeBinary, nullable=False),
)

SNAPSHOT_EVERY = 200
"""Write a new snapshot once this many events have been folded beyond the last one."""

MAGIC = b"TSNAP1"
_mark_codec = msgspec.msgpack.Decoder(StreamMark)


def _pack(mac: bytes, mark: StreamMark, state: bytes) -> bytes:
    header = msgspec.msgpack.encode(mark)
    return MAGIC + mac + len(header).to_bytes(2, "big") + header + state


def unpack(blob: bytes) -> tuple[bytes, StreamMark, bytes, bytes] | None:
    """``(mac, mark, header bytes, state bytes)`` of a stored snapshot, or None if it is not one."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 34:
        return None
    mac, rest = blob[len(MAGIC):len(MAGIC) + 32], blob[len(MAGIC) + 32:]
    n = int.from_bytes(rest[:2], "big")
    header, state = rest[2:2 + n], rest[2 + n:]
    try:
        mark = _mark_codec.decode(header)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return mac, mark, header, state


class SnapshotCache:
    """Reads and writes snapshots in the ledger's own database, authenticated by the ledger's trust store."""

    def __init__(self, ledger):
        self.ledger = ledger
        self.store = ledger.store
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready and not self.store.read_only:  # a read-only ledger gets no cache table
            metadata.create_all(self.store.engine, checkfirst=True)
            self._ready = True

    def _mac(self, stream: str, version: int, header: bytes, state: bytes) -> bytes:
        return self.ledger.trust.mac(b"snapshot", stream.encode(), str(version).encode(), header, state)

    def load_marked(self, stream: str, max_seq: int | None = None
                    ) -> tuple[projection.TilbudState, StreamMark] | None:
        """The stored snapshot of ``stream`` and the stream mark it stands for, if it is authentic (its
        HMAC holds) and does not go beyond ``max_seq``; otherwise None (the caller folds from zero)."""
        self._ensure()
        if self.store.read_only and not sa.inspect(self.store.engine).has_table("projection_snapshots"):
            return None
        with self.store.reading() as conn:
            row = conn.execute(sa.select(snapshots.c.seq, snapshots.c.state).where(
                snapshots.c.stream == stream, snapshots.c.projection_version == projection.PROJECTION_VERSION)).first()
        if row is None:
            return None
        parts = unpack(bytes(row.state))
        if parts is None:
            return None
        mac, mark, header, state = parts
        import hmac as _hmac

        if not _hmac.compare_digest(mac, self._mac(stream, projection.PROJECTION_VERSION, header, state)):
            return None  # forged, damaged or another machine's: never shown, rebuilt instead
        if mark.seq != row.seq or (max_seq is not None and mark.seq > max_seq):
            return None
        try:
            loaded = projection.load(state)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if loaded.last_seq != mark.seq:
            return None
        return loaded, mark

    def load(self, stream: str, max_seq: int | None = None) -> projection.TilbudState | None:
        """The authentic stored snapshot of ``stream`` (see :meth:`load_marked`), state only."""
        got = self.load_marked(stream, max_seq)
        return got[0] if got else None

    def save(self, stream: str, state: projection.TilbudState) -> None:
        """Store ``state`` as the snapshot of ``stream``, bound to the verified events it folds; a busy
        database just means no snapshot now."""
        if self.store.read_only:
            return
        self._ensure()
        mark = self.ledger.stream_mark_at(stream, state.last_seq)
        if mark is None:
            return  # the state does not end at an event of this stream: nothing to bind it to
        data = projection.dump(state)
        header = msgspec.msgpack.encode(mark)
        blob = _pack(self._mac(stream, projection.PROJECTION_VERSION, header, data), mark, data)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(snapshots.delete().where(snapshots.c.stream == stream,
                                                      snapshots.c.projection_version == projection.PROJECTION_VERSION))
                conn.execute(snapshots.insert().values(stream=stream, projection_version=projection.PROJECTION_VERSION,
                                                       seq=state.last_seq, state=blob))
        except OperationalError:
            pass  # e.g. SQLite busy: a cache write may be skipped, the state is still correct

    def clear(self) -> int:
        """Drop every snapshot (e.g. before a full rebuild)."""
        self._ensure()
        with self.store.engine.begin() as conn:
            return conn.execute(snapshots.delete()).rowcount


def verify_snapshots(ledger, plugins, report) -> dict:
    """For ``tilsyn verify``: every stored snapshot of this projection version must be the fold of its
    stream's events up to its seq, bound to those events. A mismatch is reported at the snapshot's seq
    (a forged or stale cache); readers never use such a one anyway. Needs no secret: it recomputes."""
    from tilsyn.ledger.envelope import leaf_hash
    from tilsyn.ledger.trust import ZERO_DIGEST, extend_digest
    from tilsyn.ledger.verify import Problem

    from .service import _view

    out = {"checked": 0, "problems": 0}
    try:
        if not sa.inspect(ledger.store.engine).has_table("projection_snapshots"):
            return out
        with ledger.store.reading() as conn:
            rows = conn.execute(sa.select(snapshots)).all()
    except Exception as e:  # noqa: BLE001 - verify never breaks
        report.problems.append(Problem(1, f"the projection_snapshots table cannot be read ({e})"))
        return out
    size = report.events

    def bad(seq: int, msg: str) -> None:
        out["problems"] += 1
        report.problems.append(Problem(max(1, min(seq, size + 1)), msg))

    for row in rows:
        stream, version, seq = row.stream, row.projection_version, row.seq
        if version != projection.PROJECTION_VERSION:
            continue  # ignored by every reader of this version
        out["checked"] += 1
        where = f"the projection snapshot of {stream} (seq {seq})"
        parts = unpack(bytes(row.state)) if isinstance(row.state, (bytes, memoryview)) else None
        if not isinstance(seq, int) or parts is None:
            bad(seq if isinstance(seq, int) else 1, f"{where} is not a snapshot this ledger writes (damaged or forged)")
            continue
        _mac, mark, _header, state = parts
        if seq > size:
            bad(size + 1, f"{where} outruns the events (the ledger has {size})")
            continue
        try:
            events = [e for e in ledger.read_unverified(stream=stream, until_seq=seq)]
            digest = ZERO_DIGEST
            for e in events:
                digest = extend_digest(digest, leaf_hash(e.record_bytes))
            expected = projection.dump(projection.fold([_view(e) for e in events]))
        except Exception as e:  # noqa: BLE001 - the events' own damage is reported by the event checks
            bad(seq, f"{where} cannot be recomputed from the events ({type(e).__name__})")
            continue
        last = events[-1] if events else None
        if (last is None or last.seq != seq or mark.seq != seq or mark.version != last.statement.stream_version
                or mark.digest != digest or state != expected):
            bad(seq, f"{where} differs from the fold of the events it claims to stand for (a forged or stale cache; "
                     "readers ignore it and rebuild)")
    return out
