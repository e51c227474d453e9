"""The event store: SQLAlchemy 2 Core over SQLite (the default) or PostgreSQL.

One table of events keyed by ``seq``. Each row keeps the sealed record bytes — the only thing
verification trusts — plus a few columns copied out of them (stream, version, type …) so that reads
can be indexed; verification checks those copies against the bytes.

Writers are serialised so the chain never forks: SQLite takes its single write lock up front
(``BEGIN IMMEDIATE``, WAL journal, ``synchronous=FULL`` so a committed legal record survives a power
cut); PostgreSQL takes a transaction-level advisory lock before reading the head. A ``UNIQUE``
constraint on ``(stream, stream_version)`` backs up the optimistic concurrency check.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from .errors import StoreError

metadata = sa.MetaData()

def stored_bytes(value) -> bytes:
    """A binary column's value as bytes, whatever an insider left in it: SQLite keeps any type in any
    column, so a record rewritten as TEXT (or a number) comes back as ``str``/``int``. Its UTF-8 bytes then
    go through the same hash and signature checks as any other damage, instead of crashing the reader."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return b"" if value is None else str(value).encode("utf-8", "surrogateescape")


class Bytes(sa.types.TypeDecorator):
    """``LargeBinary`` that always reads back as bytes (see :func:`stored_bytes`)."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_result_value(self, value, dialect):
        return None if value is None else stored_bytes(value)


events = sa.Table(
    "events", metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("stream", sa.String(255), nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(255), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("occurred_at", sa.String(32), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("leaf_hash", Bytes(32), nullable=False),
    sa.Column("record", Bytes, nullable=False),
    sa.UniqueConstraint("stream", "stream_version", name="events_stream_version"),
)

# Merkle subtree hashes (see merkle.py), so proofs cost O(log n) reads instead of a full rebuild.
merkle_nodes = sa.Table(
    "merkle_nodes", metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

# Signed checkpoints (see checkpoints.py): the C2SP signed note is the truth, size and root are copies
# for queries. Rows are only ever added.
checkpoints = sa.Table(
    "checkpoints", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# 63-bit key for pg_advisory_xact_lock, derived from a fixed name so every writer agrees on it.
_PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"tilsyn-ledger append").digest()[:8], "big") >> 1


EVENT_COLUMNS = ("seq", "stream", "stream_version", "type", "actor", "occurred_at", "recorded_at", "leaf_hash",
                 "record")


def insert_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain multi-row INSERT through the driver.

    The hot path of every append: SQLAlchemy Core would build, cache-key and bind each row as a dict,
    which costs more than SQLite's own work; the statement here is fixed, so nothing is lost.
    """
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    # The DB-API cursor of this very connection and transaction: even exec_driver_sql's bookkeeping
    # is measurable when a transaction holds one event.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


@dataclass(frozen=True)
class Head:
    """The last record: where the next one attaches."""

    seq: int
    recorded_at: str
    leaf_hash: bytes


class StoredEvent(NamedTuple):
    """One row as stored (a named tuple: a million of them are made by a full read)."""

    seq: int
    stream: str
    stream_version: int
    type: str
    actor: str
    occurred_at: str
    recorded_at: str
    leaf_hash: bytes
    record: bytes


def normalise_url(url: str) -> str:
    """Accept a SQLAlchemy URL, ``postgresql://…`` or a plain file path; return a SQLAlchemy URL."""
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        return url
    raise StoreError(
        f"unsupported database URL {url!r}: use a file path, sqlite:///FILE or postgresql+psycopg://HOST/DB")


class Store:
    """Access to one ledger database. Create with :meth:`connect`."""

    def __init__(self, engine: Engine, url: str, read_only: bool = False):
        self.engine = engine
        self.url = url
        self.read_only = read_only  # opened for reading only: caches are not written, SQLite is mode=ro
        self.dialect = engine.dialect.name
        self._write_conn: Connection | None = None

    @classmethod
    def connect(cls, url: str, *, read_only: bool = False) -> "Store":
        """Open an engine for ``url`` (nothing is created yet).

        ``read_only`` opens a SQLite file with ``mode=ro``: a read-only or archived copy can be read and
        verified, and reading never changes the file (no switch to WAL, no cache rows)."""
        url = normalise_url(url)
        try:
            sa_url = sa.engine.make_url(url)
        except (ArgumentError, ValueError):  # ValueError: e.g. a port that is not a number
            raise StoreError(f"malformed database URL {url!r}") from None
        try:
            if sa_url.get_backend_name() == "sqlite":
                if not sa_url.database or sa_url.database == ":memory:":
                    raise StoreError("an in-memory SQLite database cannot hold a ledger; give a file")
                if read_only:
                    engine = sa.create_engine(sa_url, poolclass=sa.pool.QueuePool,
                                              creator=_read_only_sqlite(sa_url.database))
                else:
                    engine = sa.create_engine(sa_url, poolclass=sa.pool.QueuePool)
                _configure_sqlite(engine, read_only)
            else:
                engine = sa.create_engine(sa_url, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError) as e:
            raise StoreError(f"cannot use database URL {url!r}: {e}") from None
        return cls(engine, url, read_only)

    def display_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def create_schema(self) -> None:
        with self._guard():
            metadata.create_all(self.engine)

    def table_names(self) -> list[str]:
        """Every table in the database (the schema of the connection, on PostgreSQL)."""
        with self._guard():
            return sorted(sa.inspect(self.engine).get_table_names())

    def create_schema_locked(self) -> None:
        """Create the tables under the ledger's write lock, so that two ``init`` at once cannot race."""
        with self.writing() as conn:
            metadata.create_all(conn)

    def has_schema(self) -> bool:
        with self._guard():
            return sa.inspect(self.engine).has_table("events")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as e:
            raise StoreError(f"cannot use the database at {self.display_url()}: {str(e.orig).strip()}") from None

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction holding the ledger's write lock; commits on success, else rolls back."""
        with self._write_transaction(lock=True) as conn:
            yield conn

    @contextmanager
    def unlocked(self) -> Iterator[Connection]:
        """A write transaction on the writer's connection that does not take the ledger's write lock (for
        the group-commit queue on PostgreSQL, see groupcommit.py); commits on success, else rolls back."""
        with self._write_transaction(lock=False) as conn:
            yield conn

    @contextmanager
    def _write_transaction(self, lock: bool) -> Iterator[Connection]:
        with self._guard():
            conn = self._writer()
            try:
                with conn.begin():
                    if lock and self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
                    yield conn
            except BaseException:
                self._drop_writer()  # after a failure, start the next write on a fresh connection
                raise

    def _writer(self) -> Connection:
        # One connection kept for writing: checking a connection out of the pool and back for every
        # append (with its reset) costs as much as the append's own statements.
        if self._write_conn is None or self._write_conn.closed:
            self._write_conn = self.engine.connect().execution_options(tilsyn_write=True)
        return self._write_conn

    def _drop_writer(self) -> None:
        if self._write_conn is not None:
            try:
                self._write_conn.close()
            finally:
                self._write_conn = None

    def dispose(self) -> None:
        """Close every connection (the ledger is done with this database)."""
        self._drop_writer()
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent view of the ledger."""
        with self._guard(), self.engine.connect() as conn:
            with conn.begin():
                yield conn

    # -- queries -------------------------------------------------------------------------------
    @staticmethod
    def head(conn: Connection) -> Head | None:
        """The last record, read through the driver (it is read on every append)."""
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT seq, recorded_at, leaf_hash FROM events ORDER BY seq DESC LIMIT 1")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return Head(row[0], row[1], bytes(row[2])) if row else None

    @staticmethod
    def stream_version(conn: Connection, stream: str) -> int:
        v = conn.execute(sa.select(sa.func.max(events.c.stream_version)).where(events.c.stream == stream)).scalar()
        return int(v or 0)

    @staticmethod
    def stream_versions(conn: Connection, streams: Sequence[str], chunk: int = 500) -> dict[str, int]:
        """The current version of each of ``streams`` (0 for a new one), in one query per ``chunk`` streams."""
        out = dict.fromkeys(streams, 0)
        names = list(out)
        for i in range(0, len(names), chunk):
            q = (sa.select(events.c.stream, sa.func.max(events.c.stream_version))
                 .where(events.c.stream.in_(names[i:i + chunk])).group_by(events.c.stream))
            for stream, version in conn.execute(q):
                out[stream] = int(version)
        return out

    @staticmethod
    def insert(conn: Connection, rows: list[tuple]) -> None:
        """Insert event rows, tuples in the column order of :data:`EVENT_COLUMNS`."""
        insert_rows(conn, "events", EVENT_COLUMNS, rows)

    @staticmethod
    def iter_events(
        conn: Connection, *, stream: str | None = None, after_seq: int = 0, until_seq: int | None = None,
        types: tuple[str, ...] | None = None, chunk: int = 5000,
    ) -> Iterator[StoredEvent]:
        """Events in ``seq`` order, fetched in chunks so a million rows never sit in memory at once.

        Read through the driver: verification and rebuilds pull every row, and building SQLAlchemy
        row objects would cost more than SQLite's own work.
        """
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        where, params = [f"seq > {mark}"], []
        if stream is not None:
            where.append(f"stream = {mark}")
            params.append(stream)
        if types:
            where.append(f"type IN ({', '.join([mark] * len(types))})")
            params.extend(types)
        if until_seq is not None:
            where.append(f"seq <= {mark}")
            params.append(until_seq)
        sql = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE {' AND '.join(where)} "
               f"ORDER BY seq LIMIT {int(chunk)}")
        last = after_seq
        while True:
            rows = conn.exec_driver_sql(sql, (last, *params)).fetchall()
            for r in rows:
                yield StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], stored_bytes(r[7]), stored_bytes(r[8]))
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    @staticmethod
    def stream_records(conn: Connection, stream: str, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(seq, record bytes)`` of one stream after ``after_seq``, in order: the lean read for folds."""
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        rows = conn.exec_driver_sql(
            f"SELECT seq, record FROM events WHERE stream = {mark} AND seq > {mark} ORDER BY seq", (stream, after_seq))
        for seq, record in rows:
            yield seq, bytes(record)

    @staticmethod
    def count(conn: Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(events)).scalar() or 0)


def _read_only_sqlite(path: str):
    """A DB-API connector opening ``path`` with SQLite's ``mode=ro`` (a URI, so any file name works)."""
    import sqlite3
    from urllib.parse import quote

    uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
    return lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)


def busy_timeout_ms() -> int:
    """How long a SQLite writer waits for another one's lock: ``$TILSYN_BUSY_TIMEOUT`` seconds (default
    60); after that the write is refused with "database is locked" and nothing is written."""
    raw = os.environ.get("TILSYN_BUSY_TIMEOUT", "")
    try:
        seconds = float(raw) if raw.strip() else 60.0
    except ValueError:
        raise StoreError(f"$TILSYN_BUSY_TIMEOUT must be a number of seconds, not {raw!r}") from None
    if not 0 <= seconds <= 86400:
        raise StoreError(f"$TILSYN_BUSY_TIMEOUT must be between 0 and 86400 seconds, not {raw!r}")
    return int(seconds * 1000)


def _configure_sqlite(engine: Engine, read_only: bool = False) -> None:
    timeout = busy_timeout_ms()

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every SQLite test
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite driver would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if read_only:  # never switch someone else's file to WAL, never write
            cur.execute("PRAGMA query_only=ON")
            cur.execute(f"PRAGMA busy_timeout={timeout}")
            cur.close()
            return
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={timeout}")
        # Erased subject keys must not linger in free pages (see personal.py).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        # A writer takes the write lock before it reads the head, so two writers cannot both attach
        # to the same head. Readers use a plain (deferred) transaction and never block writers in WAL.
        conn.connection.dbapi_connection.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("tilsyn_write") else "BEGIN")
