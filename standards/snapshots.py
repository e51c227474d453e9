"""Snapshots of tilbud projections: a cache keyed by stream and projection version.

A snapshot is the JSON of a :class:`TilbudState` after folding up to some seq. Reads start from the
newest usable snapshot and fold only what came after. Snapshots are never trusted by verification,
and a snapshot of another projection version is ignored, so changing the fold never serves stale
state. Losing the table loses nothing but speed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

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


class SnapshotCache:
    """Reads and writes snapshots in the ledger's own database."""

    def __init__(self, store):
        self.store = store
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready and not self.store.read_only:  # a read-only ledger gets no cache table
            metadata.create_all(self.store.engine, checkfirst=True)
            self._ready = True

    def load(self, stream: str, max_seq: int | None = None) -> projection.TilbudState | None:
        """The stored snapshot of ``stream`` if it does not go beyond ``max_seq``."""
        self._ensure()
        if self.store.read_only and not sa.inspect(self.store.engine).has_table("projection_snapshots"):
            return None
        with self.store.reading() as conn:
            row = conn.execute(sa.select(snapshots.c.seq, snapshots.c.state).where(
                snapshots.c.stream == stream, snapshots.c.projection_version == projection.PROJECTION_VERSION)).first()
        if row is None or (max_seq is not None and row.seq > max_seq):
            return None
        return projection.load(bytes(row.state))

    def save(self, stream: str, state: projection.TilbudState) -> None:
        """Store ``state`` as the snapshot of ``stream``; a busy database just means no snapshot now."""
        if self.store.read_only:
            return
        self._ensure()
        data = projection.dump(state)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(snapshots.delete().where(snapshots.c.stream == stream,
                                                      snapshots.c.projection_version == projection.PROJECTION_VERSION))
                conn.execute(snapshots.insert().values(stream=stream, projection_version=projection.PROJECTION_VERSION,
                                                       seq=state.last_seq, state=data))
        except OperationalError:
            pass  # e.g. SQLite busy: a cache write may be skipped, the state is still correct

    def clear(self) -> int:
        """Drop every snapshot (e.g. before a full rebuild)."""
        self._ensure()
        with self.store.engine.begin() as conn:
            return conn.execute(snapshots.delete()).rowcount
