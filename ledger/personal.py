"""Personal data in an append-only ledger: per-subject encryption and erasure (crypto-shredding).

Fields that a payload schema marks as personal are sealed *before signing* with AES-256-GCM under the
data subject's own key, with ``stream``, ``stream_version`` and the field name bound in as associated
data, so a ciphertext moved into another event no longer opens. Signatures, hashes and proofs cover
the ciphertext only. Erasing a subject destroys their key: the data can never be read again, while
every signature, hash and proof still verifies — nothing in the ledger changes.

Subject keys live outside the signed bytes, in the table ``subject_keys``, each wrapped (AES-GCM)
under a key-encryption key (KEK) that the operator supplies and that is never stored in the database:
``$TILSYN_KEK`` (32 bytes, base64) or ``$TILSYN_KEK_FILE``, else ``<key home>/tilsyn.kek``.

A sealed value is a string ``tilsyn-enc:v1:<subject>:<base64(nonce ‖ ciphertext ‖ tag)>``, so it passes
the schema's ``str`` type unchanged and is recognisable wherever it travels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import timefmt
from .errors import KeyFileError, LedgerError
from .filemodes import private_dir
from .readerkeys import Keyring, NoReaderKey, aead_open, aead_seal, subject_aad
from .readers import ReaderState
from .store import Store, metadata

PREFIX = "tilsyn-enc:v1:"  # sealed under a key of before reader groups (the KEK alone opens it)
PREFIX_V2 = "tilsyn-enc:v2:"  # tilsyn-enc:v2:<generation>:<subject>:<base64>, a key sealed to the reader group
ENTRIES_MAGIC = b"tilsyn-subject-keys/2\n"
KEK_FILE_NAME = "tilsyn.kek"

subject_keys = sa.Table(
    "subject_keys", metadata,
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=True),  # NULL once erased
    sa.Column("kek_id", sa.String(16), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("erased_at", sa.String(32), nullable=True),
    sa.Column("erase_reason", sa.Text, nullable=True),
    sa.Column("erase_seq", sa.BigInteger, nullable=True),
)


def unwrap_ok(kek: bytes, subject: str, wrapped: bytes) -> bool:
    """True if ``wrapped`` opens under ``kek`` as the key of ``subject`` (for verification)."""
    try:
        AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], subject.encode())
        return True
    except (InvalidTag, ValueError):
        return False


class ErasedError(LedgerError):
    """The subject's key was destroyed: the data is gone for good."""


@dataclass(frozen=True)
class Hidden:
    """What stands where personal data cannot be shown, and why."""

    reason: str  # "erased", "no access", "undecryptable"
    text: str


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and (value.startswith(PREFIX_V2) or value.startswith(PREFIX))


def sealed_subject(value: str) -> str:
    """The data subject a sealed value belongs to."""
    if value.startswith(PREFIX_V2):
        return value[len(PREFIX_V2):].split(":", 1)[-1].rsplit(":", 1)[0]
    return value[len(PREFIX):].rsplit(":", 1)[0]


def sealed_generation(value: str) -> int:
    """Which of the subject's keys sealed it: the reader-group epoch it was made in (0: before groups)."""
    if not value.startswith(PREFIX_V2):
        return 0
    gen = value[len(PREFIX_V2):].split(":", 1)[0]
    return int(gen) if gen.isdigit() else -1


def group_entries(inner: bytes) -> dict[int, tuple[int, bytes]] | None:
    """The subject's keys sealed to reader groups (generation -> (epoch, AES-GCM blob)); None for a
    legacy row, which holds the key itself."""
    if not inner.startswith(ENTRIES_MAGIC):
        return None
    try:
        items = msgspec.msgpack.decode(inner[len(ENTRIES_MAGIC):], type=list[tuple[int, int, bytes]])
    except msgspec.DecodeError:
        raise LedgerError("a subject key row is damaged (it opens under the KEK but does not decode)") from None
    return {gen: (epoch, blob) for gen, epoch, blob in items}


def encode_entries(entries: dict[int, tuple[int, bytes]]) -> bytes:
    return ENTRIES_MAGIC + msgspec.msgpack.encode([(g, e, b) for g, (e, b) in sorted(entries.items())])


def _aad(stream: str, stream_version: int, field: str) -> bytes:
    return f"tilsyn-personal\n{stream}\n{stream_version}\n{field}".encode()


def kek_id(kek: bytes) -> str:
    return hashlib.sha256(b"tilsyn-kek\x00" + kek).hexdigest()[:16]


def _decode_kek(text: str, where: str) -> bytes:
    try:
        kek = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"the KEK in {where} is not base64") from None
    if len(kek) != 32:
        raise KeyFileError(f"the KEK in {where} must be 32 bytes (base64), not {len(kek)}")
    return kek


def load_kek(home: Path, *, required: bool = True) -> bytes | None:
    """The KEK from ``$TILSYN_KEK``, ``$TILSYN_KEK_FILE`` or ``<home>/tilsyn.kek``."""
    if os.environ.get("TILSYN_KEK"):
        return _decode_kek(os.environ["TILSYN_KEK"], "$TILSYN_KEK")
    path = Path(os.environ["TILSYN_KEK_FILE"]) if os.environ.get("TILSYN_KEK_FILE") else home / KEK_FILE_NAME
    try:
        return _decode_kek(path.read_text(), str(path))
    except FileNotFoundError:
        if not required:
            return None
        raise KeyFileError(f"no key-encryption key: set $TILSYN_KEK or $TILSYN_KEK_FILE (looked for {path})") from None
    except (OSError, UnicodeDecodeError) as e:  # a directory, no permission, not text: say which file
        reason = getattr(e, "strerror", None) or "not a text file"
        raise KeyFileError(f"cannot read the key-encryption key {path}: {reason}") from None


def create_kek_file(home: Path) -> Path | None:
    """Create ``<home>/tilsyn.kek`` (mode 0600) unless a KEK is configured or the file exists."""
    if os.environ.get("TILSYN_KEK") or os.environ.get("TILSYN_KEK_FILE"):
        return None
    path = home / KEK_FILE_NAME
    if path.exists():
        return None
    private_dir(home)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return path


def _vacuum_full_subject_keys(conn, timeout: float = 15.0) -> str | None:
    """Rewrite ``subject_keys`` until no dead row version (an erased key) is left in it; else say why.

    An UPDATE leaves the old row version in the heap as a dead tuple until vacuum; plain VACUUM frees its
    space but does not promise to overwrite it. VACUUM FULL writes the live rows into a new file and
    drops the old one — but it copies a dead row that some transaction may still see (one older than the
    erasure, anywhere in this database). VERBOSE says how many it had to keep: wait and repeat until none.
    """
    import re
    import time

    kept: list[int] = []
    raw = conn.connection.driver_connection

    def notice(diag) -> None:
        found = re.search(r"(\d+) dead row versions cannot be removed yet", diag.message_detail or "")
        if found:
            kept.append(int(found.group(1)))

    deadline = time.monotonic() + timeout
    raw.add_notice_handler(notice)
    conn.exec_driver_sql("SET lock_timeout = '10s'")  # a long reader must not hang the erasure
    try:
        older: list[int] = []
        while True:
            kept.clear()
            try:
                conn.exec_driver_sql("VACUUM (FULL, VERBOSE) subject_keys")
            except sa.exc.OperationalError as e:
                return (f"could not rewrite subject_keys now ({str(e.orig).strip()}); the old row version stays in "
                        "the table file until you run VACUUM FULL subject_keys")
            if not any(kept):
                return None
            if time.monotonic() > deadline:
                return (f"transactions older than the erasure are still open{f' (pid {older[0]})' if older else ''}, "
                        "so PostgreSQL keeps the old row version; run VACUUM FULL subject_keys after they end")
            older = _wait_for_older_snapshots(conn, max(0.0, deadline - time.monotonic()))
    finally:
        conn.exec_driver_sql("RESET lock_timeout")
        raw.remove_notice_handler(notice)


def _wait_for_older_snapshots(conn, timeout: float) -> list[int]:
    """Wait until no other session of this database holds a snapshot older than now (so VACUUM may drop
    every row version the erasure left dead); return the pids still holding one after ``timeout``."""
    import time

    now = conn.execute(sa.text("SELECT mod(txid_current(), 4294967296)")).scalar()  # an xid newer than the erasure's
    deadline = time.monotonic() + timeout
    while True:
        older = conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xmin IS NOT NULL AND backend_xmin::text::bigint < :now ORDER BY pid"), {"now": now}).scalars().all()
        if not older or time.monotonic() > deadline:
            return list(older)
        time.sleep(0.05)


class SubjectVault:
    """Subject keys in the ledger's database, wrapped under the operator's KEK."""

    def __init__(self, store: Store, kek: bytes | None):
        self.store = store
        self.kek = kek
        self.keyring = Keyring()  # reader keys unlocked here and the group keys they opened (readerkeys.py)
        self.reader_state = lambda: ReaderState()  # the folded ledger/readers stream (set by the Ledger)
        # The epoch and key of the reader group to seal new subject keys under (set by the Ledger before
        # sealing, after it checked that the group is exactly the permitted readers).
        self.group: tuple[int, bytes] | None = None
        self._cache: dict[tuple[str, int], bytes] = {}
        # Keys made for data not yet appended: written by :meth:`flush` inside the append transaction
        # of the first event that carries data sealed under them, so a killed or refused append leaves
        # no orphan key row behind. subject -> (new wrapped row, KEK id, created at, the row it replaces)
        self._pending: dict[str, tuple[bytes, str, str, bytes | None]] = {}
        self.scrub_warning: str | None = None  # why the last :meth:`scrub` could not finish, if it could not

    def _require_kek(self) -> bytes:
        if self.kek is None:
            raise KeyFileError("no key-encryption key: set $TILSYN_KEK or $TILSYN_KEK_FILE, or run 'tilsyn init'")
        return self.kek

    def _unwrap(self, subject: str, kid: str, wrapped: bytes) -> bytes:
        """The KEK (outer) layer of a key row: a legacy key itself, or the keys sealed to the reader group."""
        kek = self._require_kek()
        if kid != kek_id(kek):
            raise KeyFileError(f"wrong key-encryption key: subject keys were wrapped with KEK {kid}, "
                               f"this one is {kek_id(kek)}")
        try:
            return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], subject.encode())
        except InvalidTag:
            raise KeyFileError(f"the subject key of {subject!r} does not open under this KEK") from None

    def _row(self, subject: str):
        with self.store.reading() as conn:
            row = conn.execute(sa.select(subject_keys).where(subject_keys.c.subject == subject)).first()
        if row is not None and row.wrapped is None:
            # The row's own words, whatever an insider left in them (only a signed erasure event is proof).
            raise ErasedError(f"personal data about {subject!r} was erased {str(row.erased_at)[:10]} ({row.erase_reason})")
        return row

    def key(self, subject: str, gen: int = 0, *, create: bool = False) -> bytes:
        """The subject's data key of generation ``gen`` (the reader-group epoch it was made in; 0: a key of
        before reader groups, under the KEK alone); made on first use when ``create``. Raises
        :class:`ErasedError`, or :class:`NoReaderKey` when nobody acting here is a reader who may open it."""
        if (subject, gen) in self._cache:
            return self._cache[(subject, gen)]
        pending = self._pending.get(subject)
        row = self._row(subject)
        wrapped = pending[0] if pending else (bytes(row.wrapped) if row is not None else None)
        inner = self._unwrap(subject, pending[1] if pending else row.kek_id, wrapped) if wrapped else None
        entries = group_entries(inner) if inner is not None else {}
        if inner is not None and entries is None:  # a legacy key: the KEK alone opens it
            if gen == 0:
                key = inner
            elif create:  # the legacy key moves under the reader group with the new one
                key = self._create(subject, gen, row, pending, {}, legacy=inner)
            else:
                raise LedgerError(f"the key row of {subject!r} holds no key of generation {gen}")
        elif gen in entries:
            epoch, blob = entries[gen]
            group = self.keyring.group_key(self.reader_state(), epoch)
            key = aead_open(group, blob, subject_aad(self.keyring.ledger_key, subject, gen, epoch))
            if key is None:
                raise LedgerError(f"the key of {subject!r} (generation {gen}) does not open under its reader group")
        elif not create:
            raise LedgerError(f"no subject key for {subject!r}" + (f" of generation {gen}" if gen else ""))
        else:
            key = self._create(subject, gen, row, pending, entries or {})
        self._cache[(subject, gen)] = key
        return key

    def _create(self, subject: str, gen: int, row, pending, entries: dict, legacy: bytes | None = None) -> bytes:
        """A new key of ``subject`` for the current reader-group epoch, pending until its data is appended
        (with the subject's ``legacy`` key, if it had one, sealed to the group as generation 0)."""
        if self.group is None or self.group[0] != gen:
            raise NoReaderKey("personal data can be sealed only under the current reader group's key")
        epoch, group = self.group
        kek = self._require_kek()
        key = AESGCM.generate_key(256)
        entries = dict(entries)
        for g, k in ((0, legacy), (gen, key)):
            if k is not None:
                entries[g] = (epoch, aead_seal(group, k, subject_aad(self.keyring.ledger_key, subject, g, epoch)))
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(kek).encrypt(nonce, encode_entries(entries), subject.encode())
        replaces = pending[3] if pending else (bytes(row.wrapped) if row is not None else None)
        self._pending[subject] = (wrapped, kek_id(kek), pending[2] if pending else timefmt.now(), replaces)
        return key

    def seal(self, value: str, subject: str, stream: str, stream_version: int, field: str) -> str:
        """Encrypt ``value`` for ``subject`` under the current reader-group epoch's key of the subject,
        bound to this event's stream, version and field."""
        if self.group is None:
            raise NoReaderKey("personal data can be sealed only under the reader group's key")
        gen = self.group[0]
        key = self.key(subject, gen, create=True)
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, value.encode(), _aad(stream, stream_version, field))
        return f"{PREFIX_V2}{gen}:{subject}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, stream: str, stream_version: int, field: str) -> str:
        """Decrypt a sealed value in the context of the event that carries it (raises on failure)."""
        subject, gen = sealed_subject(sealed), sealed_generation(sealed)
        key = self.key(subject, gen)
        try:
            blob = base64.b64decode(sealed.rsplit(":", 1)[1], validate=True)
            return AESGCM(key).decrypt(blob[:12], blob[12:], _aad(stream, stream_version, field)).decode()
        except (InvalidTag, binascii.Error, ValueError, IndexError):
            raise LedgerError(f"a personal field ({field}) of {stream} v{stream_version} does not decrypt "
                              f"(moved from another event, or damaged)") from None

    def seal_legacy_keys(self, epoch: int, group: bytes) -> int:
        """Move every key of before reader groups (the KEK alone opened it) under the group key of ``epoch``,
        so that from now on only readers open old data too; returns how many. Without the KEK: none."""
        if self.kek is None:
            return 0
        moved = 0
        with self.store.writing() as conn:
            rows = conn.execute(sa.select(subject_keys.c.subject, subject_keys.c.wrapped, subject_keys.c.kek_id)
                                .where(subject_keys.c.wrapped.is_not(None))).all()
            for subject, wrapped, kid in rows:
                if kid != kek_id(self.kek):
                    continue  # another KEK's row: verify reports it; leave it as it is
                inner = self._unwrap(subject, kid, bytes(wrapped))
                if group_entries(inner) is not None:
                    continue
                blob = aead_seal(group, inner, subject_aad(self.keyring.ledger_key, subject, 0, epoch))
                nonce = os.urandom(12)
                new = nonce + AESGCM(self.kek).encrypt(nonce, encode_entries({0: (epoch, blob)}), subject.encode())
                conn.execute(subject_keys.update().where(subject_keys.c.subject == subject)
                             .where(subject_keys.c.wrapped == bytes(wrapped)).values(wrapped=new))
                moved += 1
        if moved:
            self.scrub()  # the KEK-only rows must not linger in old row versions or the WAL
        return moved

    def status(self, subject: str):
        """The key row of ``subject`` (None if it has none)."""
        with self.store.reading() as conn:
            return conn.execute(sa.select(subject_keys).where(subject_keys.c.subject == subject)).first()

    def subjects(self) -> list:
        with self.store.reading() as conn:
            return conn.execute(sa.select(subject_keys).order_by(subject_keys.c.subject)).all()

    def has_pending(self) -> bool:
        """Whether a data subject's key was made in this process and not yet committed."""
        return bool(self._pending)

    def flush(self, conn, events) -> None:
        """Insert the pending keys of the subjects whose sealed data ``events`` carry (in their transaction)."""
        if not self._pending:
            return
        wanted = set()
        for e in events:
            payloads = [e.statement.payload]
            if isinstance(e.statement.payload.get("replacement"), dict):
                payloads.append(e.statement.payload["replacement"])
            for p in payloads:
                wanted.update(sealed_subject(v) for v in p.values() if is_sealed(v))
        for subject in sorted(wanted & set(self._pending)):
            wrapped, kid, created, replaces = self._pending[subject]
            now = conn.execute(sa.select(subject_keys.c.wrapped).where(subject_keys.c.subject == subject)).first()
            if (now is None) != (replaces is None) or (now is not None and bytes(now[0] or b"") != replaces):
                # Another writer made or changed this subject's key first (or erased it): our data would be
                # sealed under a key nobody keeps. Refuse; the next attempt seals under theirs.
                self._pending.pop(subject)
                for k in [k for k in self._cache if k[0] == subject]:
                    self._cache.pop(k)
                raise LedgerError(f"another writer changed the key of data subject {subject!r} meanwhile; "
                                  "nothing was written, try again")
            if now is None:
                conn.execute(subject_keys.insert().values(subject=subject, wrapped=wrapped, kek_id=kid, created_at=created))
            else:
                conn.execute(subject_keys.update().where(subject_keys.c.subject == subject).values(wrapped=wrapped, kek_id=kid))
        self._inflight = wanted

    def committed(self) -> None:
        """The append that :meth:`flush` wrote into committed: its keys are no longer pending."""
        for subject in getattr(self, "_inflight", ()):
            self._pending.pop(subject, None)
        self._inflight = set()

    def destroy(self, conn, subject: str, reason: str, seq: int, at: str) -> None:
        """Destroy the subject's key inside the caller's transaction (the erasure event's)."""
        for k in [k for k in self._cache if k[0] == subject]:
            self._cache.pop(k)
        self._pending.pop(subject, None)
        exists = conn.execute(sa.select(subject_keys.c.subject).where(subject_keys.c.subject == subject)).first()
        values = dict(wrapped=None, erased_at=at, erase_reason=reason, erase_seq=seq)
        if exists:
            conn.execute(subject_keys.update().where(subject_keys.c.subject == subject).values(**values))
        else:  # erased before any data was recorded: block the key from ever being made
            conn.execute(subject_keys.insert().values(subject=subject, kek_id="-", created_at=at, **values))

    def scrub(self) -> None:
        """Make sure destroyed key bytes are gone from the table's storage too, after the erasure committed.

        When that cannot be finished now, :attr:`scrub_warning` says why (the key row is destroyed either
        way). What this cannot reach — WAL archives, backups, replicas — the README tells the operator.
        """
        self.scrub_warning = None
        with self.store.engine.connect() as conn:
            if self.store.dialect == "sqlite":
                # secure_delete (set on every connection) zeroes the old cell in the new page version;
                # the checkpoint moves that page into the database file and empties the WAL.
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy is not None and busy[0]:
                    self.scrub_warning = ("another process is reading the database, so the WAL still holds the old page; "
                            "run 'tilsyn erase' again later or stop the readers and run PRAGMA wal_checkpoint(TRUNCATE)")
            elif self.store.dialect == "postgresql":
                self.scrub_warning = _vacuum_full_subject_keys(conn.execution_options(isolation_level="AUTOCOMMIT"))

    def unknown_subject(self, subject: str) -> str:
        """Why ``subject`` cannot be erased: the ledger holds no key for it (with near names, for a typo)."""
        import difflib

        known = [r.subject for r in self.subjects()]
        near = difflib.get_close_matches(subject, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        return f"the ledger holds no personal data about {subject!r} (never seen){hint}; nothing was erased"
