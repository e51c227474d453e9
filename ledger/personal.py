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

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import timefmt
from .errors import KeyFileError, LedgerError
from .filemodes import private_dir
from .store import Store, metadata

PREFIX = "tilsyn-enc:v1:"
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
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_subject(value: str) -> str:
    """The data subject a sealed value belongs to."""
    return value[len(PREFIX):].rsplit(":", 1)[0]


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


class SubjectVault:
    """Subject keys in the ledger's database, wrapped under the operator's KEK."""

    def __init__(self, store: Store, kek: bytes | None):
        self.store = store
        self.kek = kek
        self._cache: dict[str, bytes] = {}
        # Keys made for data not yet appended: written by :meth:`flush` inside the append transaction
        # of the first event that carries data sealed under them, so a killed or refused append leaves
        # no orphan key row behind.
        self._pending: dict[str, tuple[bytes, str, str]] = {}
        self.scrub_warning: str | None = None  # why the last :meth:`scrub` could not finish, if it could not

    def _require_kek(self) -> bytes:
        if self.kek is None:
            raise KeyFileError("no key-encryption key: set $TILSYN_KEK or $TILSYN_KEK_FILE, or run 'tilsyn init'")
        return self.kek

    def _unwrap(self, subject: str, row) -> bytes:
        kek = self._require_kek()
        if row.kek_id != kek_id(kek):
            raise KeyFileError(f"wrong key-encryption key: subject keys were wrapped with KEK {row.kek_id}, "
                               f"this one is {kek_id(kek)}")
        try:
            return AESGCM(kek).decrypt(row.wrapped[:12], row.wrapped[12:], subject.encode())
        except InvalidTag:
            raise KeyFileError(f"the subject key of {subject!r} does not open under this KEK") from None

    def key(self, subject: str, *, create: bool = False) -> bytes:
        """The subject's data key; made on first use when ``create``. Raises :class:`ErasedError`."""
        if subject in self._cache:
            return self._cache[subject]
        with self.store.reading() as conn:
            row = conn.execute(sa.select(subject_keys).where(subject_keys.c.subject == subject)).first()
        if row is not None and row.wrapped is None:
            # The row's own words, whatever an insider left in them (only a signed erasure event is proof).
            raise ErasedError(f"personal data about {subject!r} was erased {str(row.erased_at)[:10]} ({row.erase_reason})")
        if row is not None:
            key = self._unwrap(subject, row)
        elif not create:
            raise LedgerError(f"no subject key for {subject!r}")
        else:
            kek = self._require_kek()
            key = AESGCM.generate_key(256)
            nonce = os.urandom(12)
            wrapped = nonce + AESGCM(kek).encrypt(nonce, key, subject.encode())
            self._pending[subject] = (wrapped, kek_id(kek), timefmt.now())
        self._cache[subject] = key
        return key

    def seal(self, value: str, subject: str, stream: str, stream_version: int, field: str) -> str:
        """Encrypt ``value`` for ``subject``, bound to this event's stream, version and field."""
        key = self.key(subject, create=True)
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, value.encode(), _aad(stream, stream_version, field))
        return f"{PREFIX}{subject}:{base64.b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, stream: str, stream_version: int, field: str) -> str:
        """Decrypt a sealed value in the context of the event that carries it (raises on failure)."""
        subject = sealed_subject(sealed)
        key = self.key(subject)
        try:
            blob = base64.b64decode(sealed.rsplit(":", 1)[1], validate=True)
            return AESGCM(key).decrypt(blob[:12], blob[12:], _aad(stream, stream_version, field)).decode()
        except (InvalidTag, binascii.Error, ValueError, IndexError):
            raise LedgerError(f"a personal field ({field}) of {stream} v{stream_version} does not decrypt "
                              f"(moved from another event, or damaged)") from None

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
            wrapped, kid, created = self._pending[subject]
            exists = conn.execute(sa.select(subject_keys.c.subject).where(subject_keys.c.subject == subject)).first()
            if exists:
                # Another writer made this subject's key first: our data would be sealed under a key
                # nobody keeps. Refuse; the next attempt seals under theirs.
                self._pending.pop(subject)
                self._cache.pop(subject, None)
                raise LedgerError(f"another writer created the key of data subject {subject!r} meanwhile; "
                                  "nothing was written, try again")
            conn.execute(subject_keys.insert().values(subject=subject, wrapped=wrapped, kek_id=kid, created_at=created))
        self._inflight = wanted

    def committed(self) -> None:
        """The append that :meth:`flush` wrote into committed: its keys are no longer pending."""
        for subject in getattr(self, "_inflight", ()):
            self._pending.pop(subject, None)
        self._inflight = set()

    def destroy(self, conn, subject: str, reason: str, seq: int, at: str) -> None:
        """Destroy the subject's key inside the caller's transaction (the erasure event's)."""
        self._cache.pop(subject, None)
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
                # An UPDATE leaves the old row version (with the wrapped key) in the heap as a dead tuple
                # until vacuum; plain VACUUM frees its space but does not promise to overwrite it. VACUUM
                # FULL writes the live rows into a new file and drops the old one. The table holds one
                # small row per data subject, so this is quick.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("SET lock_timeout = '10s'")  # a long reader must not hang the erasure
                try:
                    conn.exec_driver_sql("VACUUM FULL subject_keys")
                except sa.exc.OperationalError as e:
                    self.scrub_warning = (f"could not rewrite subject_keys now ({str(e.orig).strip()}); the old row "
                                          "version stays in the table file until you run VACUUM FULL subject_keys")
                finally:
                    conn.exec_driver_sql("RESET lock_timeout")

    def unknown_subject(self, subject: str) -> str:
        """Why ``subject`` cannot be erased: the ledger holds no key for it (with near names, for a typo)."""
        import difflib

        known = [r.subject for r in self.subjects()]
        near = difflib.get_close_matches(subject, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
        return f"the ledger holds no personal data about {subject!r} (never seen){hint}; nothing was erased"
