"""The public API of the kernel: :class:`Ledger`.

>>> ledger, authority = Ledger.init("tilsyn.db", authority="Socialtilsyn Øst", keystore=KeyStore())
>>> ledger.record(authority, "demo/1", "ledger.KeyRegistered/1", {...})   # doctest: +SKIP

Appending goes: check each statement against its type's schema → sign (before any lock) → in one
transaction holding the write lock: bring the key registry up to date, check every signer's key and
role at this position, check stream versions (optimistic concurrency), read the head, seal the
records, insert. Either the whole batch lands or none of it does.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import msgspec

from . import groupcommit, identity, keys, timefmt
from .envelope import (GENESIS_PREV, Record, Statement, decode_record, decode_statement, encode_record,
                       encode_statement, leaf_hash, make_statement)
from .errors import (AuthorizationError, ConflictError, DamagedError, KeyFileError, LedgerError, StoreError,
                     ValidationError)
from .heads import HEADS_STREAM, STREAM_HEADS, Head as StreamHead, HeadsMap, heads_as_of
from .identity import KEYS_STREAM, KeyInfo, KeyRegistry
from .origin import check_origin
from .keys import KeyStore
from .personal import SubjectVault
from .readergroup import ReaderGroup
from .readers import READER_KEY, READER_ROLES
from .policy import SUBJECT_ERASED, SUBJECT_FIELD, SUBJECTS_STREAM, Policy
from .rules import POLICY_STREAM, RULES_IN_FORCE, RULES_SIGNERS, rules_bytes
from .sigcheck import EarlyChecks
from .signing import SignedStatement, Signer, SigningProcess
from .store import Head, Store, StoredEvent, stored_bytes
from .tree import LedgerTree, RightEdge
from .trust import ZERO_DIGEST, StreamMark, TrustStore, Verified, extend_digest


@dataclass(frozen=True)
class Event:
    """An event as read back: its record, its statement and the exact bytes of both."""

    seq: int
    recorded_at: str
    prev: str
    statement: Statement
    statement_bytes: bytes
    signature: bytes
    record_bytes: bytes
    leaf_hash: bytes

    @property
    def stream(self) -> str:
        return self.statement.stream

    @property
    def type(self) -> str:
        return self.statement.type

    @property
    def payload(self) -> dict[str, Any]:
        return self.statement.payload

    @property
    def actor(self) -> str:
        return self.statement.actor

    @property
    def occurred_at(self) -> str:
        return self.statement.occurred_at

    @classmethod
    def from_stored(cls, row: StoredEvent) -> "Event":
        rec = decode_record(row.record)
        return cls(rec.seq, rec.recorded_at, rec.prev, decode_statement(rec.statement), rec.statement,
                   rec.signature, row.record, row.leaf_hash)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (bytes as base64) for ``--json`` output."""
        s = self.statement
        return {
            "seq": self.seq, "recorded_at": self.recorded_at, "prev": self.prev,
            "leaf_hash": self.leaf_hash.hex(), "stream": s.stream, "stream_version": s.stream_version,
            "type": s.type, "occurred_at": s.occurred_at, "actor": s.actor, "key_id": s.key_id,
            "ledger": s.ledger, "payload": s.payload, "signature": base64.b64encode(self.signature).decode(),
        }


class Ledger:
    """A tamper-evident, append-only ledger of signed events. Open with :meth:`open` or :meth:`init`."""

    def __init__(self, store: Store, policy: Policy | None = None, kek: bytes | None = None,
                 trust: TrustStore | None = None):
        self.store = store
        self.policy = policy or Policy()
        self.vault = SubjectVault(store, kek)  # per-subject keys for personal fields (personal.py)
        self.trust = trust or TrustStore(None)
        self._registry = KeyRegistry()
        # What this object saw at the end of its last successful append. If the head is still the same
        # when the next append takes the lock, nobody else wrote in between, so the key registry and the
        # stream versions it knows are current and need no query (the common case of one writer).
        self._seen_head: Head | None = None
        self._versions: dict[str, int] = {}
        # The rules in force as last recorded in ``ledger/policy`` (canonical payload bytes) and the seq
        # folded up to; refreshed with the key registry whenever another writer moved the head.
        self._rules_recorded: bytes | None = None
        self._rules_seq = 0
        # Signers this object has built statements for: when the loaded rules differ from the recorded
        # ones, the next append's own signer records them (rules.py) — in-process, never stored.
        self._signers: dict[str, Signer] = {}
        # What this machine has verified (trust.py): the registry, the stream versions and every read
        # are checked against it, never against what the database merely says. None: not loaded yet.
        self._verified: Verified | None = None
        self._edge: RightEdge | None = None
        self._dirty = False
        self._contended = False  # another writer appended since our last append (see append)
        # PostgreSQL: concurrent writers' plain appends sealed together (groupcommit.py); see open().
        self.group_commit = False
        self._queue_ready = False
        self._queue_done: list[int] = []
        self._append_hooks: list = []
        self.tree = LedgerTree(store)  # the Merkle tree, extended inside every append transaction
        self.add_append_hook(self.tree.on_append)
        self.readers = ReaderGroup(self)  # who may open personal data: reader keys, group key (readergroup.py)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, policy: Policy | None = None, kek: bytes | None = None, *,
             trust_home: str | os.PathLike | None = None, verified: bool = True,
             read_only: bool = False, group_commit: bool = False) -> "Ledger":
        """Open an existing ledger at ``url`` (a file path, ``sqlite:///…`` or ``postgresql+psycopg://…``).

        ``kek`` is the operator's key-encryption key for personal data (see personal.py); without it
        events with personal fields can neither be recorded nor read in clear. ``trust_home`` is where
        this machine keeps what it verified (the key home, see trust.py): events verified once are then
        not verified again. Opening verifies every event not yet verified and raises
        :class:`~tilsyn.ledger.errors.DamagedError` naming the first damaged seq. ``verified=False``
        opens without looking at any event (for ``tilsyn verify``, which trusts nothing folded).
        ``read_only`` opens the database for reading only (see :meth:`Store.connect`). ``group_commit``
        (PostgreSQL, many writers at once) seals this writer's plain appends together with other
        writers' in one transaction (groupcommit.py).
        """
        store = Store.connect(url, read_only=read_only)
        # A missing SQLite file is checked first: looking into it would create an empty file where the
        # user mistyped a path.
        if (store.dialect == "sqlite" and not os.path.exists(store.engine.url.database)) or not store.has_schema():
            raise StoreError(f"no ledger at {store.display_url()}; create one with 'tilsyn init'")
        ledger = cls(store, policy, kek, TrustStore(trust_home) if trust_home is not None else None)
        ledger.group_commit = group_commit
        if not verified:
            return ledger
        try:
            ledger._refresh_registry()
            damage = ledger._lost_events()
        except BaseException:
            ledger.close()
            raise
        if damage is not None:
            ledger.close()
            raise damage
        if not ledger._registry.keys:
            ledger.close()
            raise StoreError(f"the ledger at {store.display_url()} has no genesis event")
        return ledger

    @classmethod
    def init(
        cls, url: str, authority: str, keystore: KeyStore, *, passphrase: str | None = None,
        policy: Policy | None = None, origin: str | None = None, occurred_at: str | None = None,
        kek: bytes | None = None, trust_home: str | os.PathLike | None = None,
    ) -> tuple["Ledger", Signer]:
        """Create a new ledger: schema, an authority key with role ``admin``, and the genesis event.

        The authority's private key is written to ``keystore``; returns the ledger and its signer.
        """
        origin = check_origin(origin) if origin is not None else None
        store = Store.connect(url)
        if store.has_schema():
            with store.reading() as conn:
                if store.head(conn) is not None:
                    raise StoreError(f"a ledger already exists at {store.display_url()}; nothing was changed")
        else:
            others = store.table_names()
            if others:  # someone else's database: a ledger is never mixed into it
                shown = ", ".join(others[:5]) + (" …" if len(others) > 5 else "")
                raise StoreError(f"the database at {store.display_url()} already holds other tables ({shown}); "
                                 f"a ledger needs a database of its own; nothing was changed")
        store.create_schema_locked()
        ledger = cls(store, policy, kek, TrustStore(trust_home) if trust_home is not None else None)
        private, log_private = keys.generate(), keys.generate()
        signer = Signer(authority, private)
        log_signer = Signer(identity.LOG_ACTOR, log_private)
        ledger._signers[signer.key_id] = signer  # records the rules in force right after the genesis event
        ledger_id = os.urandom(16).hex()  # 128 random bits, named by every statement of this ledger
        payload = {
            "ledger_id": ledger_id,
            "origin": origin or f"tilsyn-ledger/{ledger_id}",
            "authority": authority,
            "key_id": signer.key_id,
            "public_key": base64.b64encode(signer.public_key).decode(),
            "roles": ["admin"],
            "log_key": {"key_id": log_signer.key_id, "public_key": base64.b64encode(log_signer.public_key).decode()},
        }
        stmt = make_statement(stream=KEYS_STREAM, stream_version=1, type=identity.GENESIS,
                              occurred_at=occurred_at or timefmt.now(), actor=authority,
                              key_id=signer.key_id, ledger=ledger_id, payload=payload)
        # Write the key files first: a ledger whose authority or log key was lost could never be administered.
        # The log key lives in the authority's key home only (it signs checkpoints, never a person's act).
        path = keystore.save(private, passphrase)
        try:
            log_path = keystore.save(log_private, passphrase)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        try:
            ledger.append(signer.sign(stmt))
        except ConflictError:  # another init got its genesis in first
            path.unlink(missing_ok=True)
            log_path.unlink(missing_ok=True)
            raise StoreError(f"another process created a ledger at {store.display_url()} at the same time; "
                             f"nothing was changed") from None
        except BaseException:
            path.unlink(missing_ok=True)
            log_path.unlink(missing_ok=True)
            raise
        return ledger, signer

    def close(self) -> None:
        self.save_trust()
        self.store.dispose()

    def save_trust(self) -> None:
        """Write what this object verified to the trust home (done by :meth:`close`)."""
        if self._dirty and self._verified is not None and self._edge is not None:
            self._verified.edge = self._edge.edge()
            self.trust.save(self._verified)
            self._dirty = False

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- identities ----------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """The ledger's origin name (from the genesis event), used in checkpoints."""
        return self._registry.origin or ""

    @property
    def ledger_id(self) -> str:
        """The ledger's id (from the genesis event): every statement names it in its signed bytes."""
        return self._registry.ledger_id or ""

    @property
    def genesis_key_id(self) -> str:
        """The id of the authority's genesis key."""
        return self._registry.genesis_key_id or ""

    def log_key(self) -> KeyInfo | None:
        """The ledger's current log key (it signs checkpoints and StreamHeads events)."""
        self._refresh_registry()
        info = self._registry.log_key()
        return None if info is None else info.copy()

    def log_key_at(self, size: int) -> KeyInfo | None:
        """The log key that may sign a checkpoint of ``size`` records (the one valid at seq ``size``)."""
        self._refresh_registry()
        info = self._registry.log_key_at(size)
        return None if info is None else info.copy()

    def log_keys(self) -> list[KeyInfo]:
        """Every log key of the ledger, oldest first."""
        self._refresh_registry()
        return [k.copy() for k in self._registry.log_keys()]

    def log_signer(self, keystore: KeyStore, passphrase: str | None = None) -> Signer:
        """The current log key's signer, from the key home that holds it (the authority's)."""
        info = self.log_key()
        if info is None:
            raise StoreError("the ledger has no log key")
        try:
            private = keystore.load(info.key_id, passphrase)
        except KeyFileError as e:
            raise AuthorizationError(f"the ledger's log key {info.key_id} is not in this key home ({e}); "
                                     "checkpoints are signed where the authority's key home is") from None
        signer = Signer(identity.LOG_ACTOR, private)
        if signer.public_key != info.public_key:
            raise AuthorizationError(f"the key file does not match the ledger's log key {info.key_id}")
        return signer

    def rotate_ledger_key(self, keystore: KeyStore, passphrase: str | None = None, *,
                          occurred_at: str | None = None) -> Event:
        """Replace the log key: a new key pair in ``keystore``, vouched for by the current log key (which
        signs the rotation) and proving possession of itself. Later checkpoints need the new key."""
        old = self.log_signer(keystore, passphrase)
        private = keys.generate()
        pub = base64.b64encode(keys.public_bytes(private)).decode()
        payload = {"previous_key_id": old.key_id, "key_id": keys.key_id(keys.public_bytes(private)),
                   "public_key": pub}
        payload["proof"] = base64.b64encode(
            private.sign(identity.possession_bytes(self.ledger_id, identity.LOG_ACTOR, pub))).decode()
        path = keystore.save(private, passphrase)
        try:
            return self.record(old, KEYS_STREAM, identity.LEDGER_KEY_ROTATED, payload, occurred_at=occurred_at)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    @property
    def authority(self) -> str:
        return self._registry.authority or ""

    def registry(self) -> KeyRegistry:
        """The key registry as of now (a copy: callers cannot change the ledger's view)."""
        self._refresh_registry()
        return self._registry.copy()

    def key_info(self, key_id: str) -> KeyInfo | None:
        """One key as of now (cheaper than :meth:`registry`, which copies every key)."""
        self._refresh_registry()
        info = self._registry.keys.get(key_id)
        return None if info is None else info.copy()

    def signer(self, actor: str, keystore: KeyStore, passphrase: str | None = None) -> Signer:
        """Load ``actor``'s active private key from ``keystore`` and check it against the ledger."""
        self._refresh_registry()
        info = self._registry.active_key(actor)  # read only: no need to copy every key
        if info is None:
            revoked = [k for k in self._registry.keys.values() if k.actor == actor]
            if revoked:
                last = max(revoked, key=lambda k: k.revoked_seq or 0)
                raise AuthorizationError(
                    f"{actor!r} has no active key: key {last.key_id} was revoked at seq {last.revoked_seq}"
                    + (f" ({last.revoke_reason})" if last.revoke_reason else ""))
            known = sorted(a for a in self._registry.actors() if self._registry.active_key(a))
            raise AuthorizationError(
                f"unknown actor {actor!r}: no active key in this ledger"
                + (f" (known: {', '.join(known)})" if known else ""))
        private = keystore.load(info.key_id, passphrase)
        signer = Signer(actor, private)
        if signer.public_key != info.public_key:
            raise AuthorizationError(f"the key file for {actor!r} does not match the registered key {info.key_id}")
        self._signers[signer.key_id] = signer
        self.readers.unlock(keystore, info.key_id, passphrase)  # their reader key, if they have one here
        return signer

    def unlock_reader(self, actor: str, keystore: KeyStore, passphrase: str | None = None) -> int:
        """Unlock ``actor``'s reader keys from their own key home, to read (even with a revoked key what
        was sealed while they were a reader); returns how many were found."""
        return self.readers.unlock_actor(actor, keystore, passphrase)

    def register_key(
        self, admin: Signer, name: str, roles: Sequence[str], keystore: KeyStore, *,
        passphrase: str | None = None, occurred_at: str | None = None, tilbud: Sequence[str] = (),
    ) -> tuple[KeyInfo, str]:
        """NOT FOR PRODUCTION (demo and tests): make ``name``'s key pair in ``keystore`` — the admin's own
        key home, so the admin could sign as that person — and register it with ``roles`` (limited to
        ``tilbud`` if given). Real enrollment: :func:`enrollment.make_request` in the person's own home,
        then :meth:`register_request`."""
        from .enrollment import make_request, read_request

        name = self._check_new_name(name, roles)
        private = keys.generate()
        request = read_request(make_request(private, name, self.ledger_id, self.origin), self.ledger_id)
        path = keystore.save(private, passphrase)
        try:
            info = self._register(admin, request, roles, tilbud, occurred_at)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        # The one-step path makes the reader key in the same key home too (a ledger whose event types
        # carry no personal data has no readers: see Policy.register).
        if READER_ROLES & set(roles) and READER_KEY in self.policy.types:
            self.readers.register(self.signer(name, keystore, passphrase), keystore, passphrase)
        return info, str(path)

    def register_request(self, admin: Signer, request_bytes: bytes, roles: Sequence[str], *,
                         name: str | None = None, tilbud: Sequence[str] = (),
                         occurred_at: str | None = None) -> KeyInfo:
        """Register a person's own key from their enrollment request (enrollment.py) with ``roles``,
        limited to ``tilbud`` if given. ``name``, if given, must be the name the request was made for.
        The admin never sees the private key; the event records the proof of possession."""
        from .enrollment import read_request

        from .names import normalise

        request = read_request(request_bytes, self.ledger_id)
        if name is not None and normalise(name) != request.name:
            raise ValidationError(f"the request was made for {request.name!r}, not for {name!r}")
        self._check_new_name(request.name, roles)
        return self._register(admin, request, roles, tilbud, occurred_at)

    def _check_new_name(self, name: str, roles: Sequence[str]) -> str:
        from .names import normalise

        name = normalise(name)
        if name == identity.LOG_ACTOR:
            raise ValidationError(f"the name {name!r} is reserved for the ledger's log key")
        if self.registry().active_key(name) is not None:
            raise ValidationError(f"{name!r} already has an active key; revoke it first or grant a role")
        bad = [r for r in roles if r not in identity.ROLES]
        if bad or not roles:
            raise ValidationError(f"unknown role {bad[0]!r}; roles are {', '.join(identity.ROLES)}"
                                  if bad else "give at least one role")
        return name

    def _register(self, admin: Signer, request, roles: Sequence[str], tilbud: Sequence[str],
                  occurred_at: str | None) -> KeyInfo:
        payload = request.payload(list(roles))
        if tilbud:
            payload["tilbud"] = sorted(set(tilbud))
        if payload["key_id"] in self.registry().keys:
            raise ValidationError(f"key {payload['key_id']} is registered already")
        self.record(admin, KEYS_STREAM, identity.KEY_REGISTERED, payload, occurred_at=occurred_at)
        return self.registry().keys[payload["key_id"]]

    def grant_role(self, admin: Signer, name: str, role: str, *, occurred_at: str | None = None,
                   tilbud: Sequence[str] = ()) -> Event:
        """Grant ``role`` to ``name``'s active key: authority-wide, or for the given ``tilbud`` only."""
        info = self._require_active(name)
        scope = info.scopes.get(role)
        if role in info.roles and scope is None:
            raise ValidationError(f"{name!r} already holds the role {role!r} authority-wide")
        if tilbud and scope is not None and set(tilbud) <= scope:
            raise ValidationError(f"{name!r} already holds the role {role!r} for {', '.join(sorted(tilbud))}")
        payload = {"key_id": info.key_id, "name": name, "roles": [role]}
        if tilbud:
            payload["tilbud"] = sorted(set(tilbud))
        return self.record(admin, KEYS_STREAM, identity.ROLE_GRANTED, payload, occurred_at=occurred_at)

    def rotate_key(self, signer: Signer, keystore: KeyStore, passphrase: str | None = None, *,
                   x25519_public_key: bytes | None = None, occurred_at: str | None = None) -> tuple[Event, Signer]:
        """Replace ``signer``'s key by a new one made in ``keystore`` (the person's own key home): the old key
        signs the hand-over, the new one proves possession; roles and scopes carry over. Returns the
        event and the new signer."""
        from .enrollment import make_request, read_request

        private = keys.generate()
        request = read_request(make_request(private, signer.actor, self.ledger_id, self.origin, x25519_public_key),
                               self.ledger_id)
        payload = {"name": signer.actor, "previous_key_id": signer.key_id, "key_id": request.key_id,
                   "public_key": request.public_key, "proof": request.proof, **request.extra}
        path = keystore.save(private, passphrase)
        try:
            event = self.record(signer, KEYS_STREAM, identity.KEY_ROTATED, payload, occurred_at=occurred_at)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return event, self.signer(signer.actor, keystore, passphrase)

    def revoke_key(self, admin: Signer, name: str, reason: str, *, occurred_at: str | None = None) -> Event:
        """Revoke ``name``'s active key, saying why. Events signed before stay valid."""
        info = self._require_active(name)
        if not reason.strip():
            raise ValidationError("a revocation needs a reason")
        return self.record(admin, KEYS_STREAM, identity.KEY_REVOKED,
                           {"key_id": info.key_id, "name": name, "reason": reason}, occurred_at=occurred_at)

    def _require_active(self, name: str) -> KeyInfo:
        info = self.registry().active_key(name)
        if info is None:
            raise ValidationError(f"{name!r} has no active key in this ledger")
        return info

    # -- appending -----------------------------------------------------------------------------
    def statement(
        self, signer: Signer, stream: str, type: str, payload: dict[str, Any], *,
        occurred_at: str | None = None, stream_version: int | None = None, seal: bool = True,
    ) -> Statement:
        """Build a statement for ``signer`` at the stream's next version (or the one given).

        Personal fields are sealed for the payload's data subject unless ``seal`` is False (then the
        caller must call :meth:`seal` before signing, e.g. after guards have read the plain text).
        """
        if stream_version is None:
            stream_version = self.stream_version(stream) + 1
        self._signers[signer.key_id] = signer
        stmt = make_statement(stream=stream, stream_version=stream_version, type=type,
                              occurred_at=occurred_at or timefmt.now(), actor=signer.actor,
                              key_id=signer.key_id, ledger=self.ledger_id, payload=payload)
        self.policy.validate_payload(stmt.type, stmt.payload)
        return self.seal(stmt) if seal else stmt

    def seal(self, statement: Statement) -> Statement:
        """Encrypt the statement's personal fields for its data subject (a no-op without a subject)."""
        payload = self.seal_payload(statement.payload, statement.type, statement.stream, statement.stream_version,
                                    key_id=statement.key_id)
        return statement if payload is statement.payload else msgspec.structs.replace(statement, payload=payload)

    def seal_payload(self, payload: dict[str, Any], type: str, stream: str, stream_version: int, *,
                     key_id: str | None = None) -> dict[str, Any]:
        """``payload`` with the personal fields of ``type`` sealed for its ``subject``, bound to the event
        at ``stream``/``stream_version`` (also used for a payload nested in another, such as a correction's
        replacement). Sealing needs a reader acting here (see readergroup.py; ``key_id`` is the signer's)."""
        subject = payload.get(SUBJECT_FIELD)
        fields = self.policy.get(type).personal_fields
        if not subject or not fields:
            return payload
        if any(isinstance(payload.get(n), str) and not payload[n].startswith("tilsyn-enc:") for n in fields):
            self.vault.group = self.readers.sealing_key(key_id)
        out = dict(payload)
        for name in fields:
            value = out.get(name)
            if isinstance(value, str) and not value.startswith("tilsyn-enc:"):
                out[name] = self.vault.seal(value, subject, stream, stream_version, name)
        return out

    def reveal(self, value: Any, stream: str, stream_version: int, field: str) -> Any:
        """The plain text of a sealed field in its event's context (raises if erased or moved)."""
        if isinstance(value, str) and value.startswith("tilsyn-enc:"):
            return self.vault.open(value, stream, stream_version, field)
        return value

    def erase_subject(self, signer: Signer, subject: str, reason: str, *, occurred_at: str | None = None) -> Event:
        """Destroy ``subject``'s key and append the signed erasure event, in one transaction.

        The events that carry the subject's data stay exactly as they were; every signature, hash and
        proof still verifies, but the sealed fields can never be opened again.
        """
        if not reason.strip():
            raise ValidationError("an erasure needs a legal reason, e.g. 'GDPR art. 17'")
        row = self.vault.status(subject)
        if row is None:  # a typo (B17 for B-17) must not be signed as a completed erasure
            raise ValidationError(self.vault.unknown_subject(subject))
        if row.wrapped is None:
            raise ValidationError(f"{subject!r} was erased already ({row.erased_at[:10]}, seq {row.erase_seq})")
        stmt = self.statement(signer, SUBJECTS_STREAM, SUBJECT_ERASED, {"subject": subject, "reason": reason},
                              occurred_at=occurred_at)
        event = self.append(signer.sign(stmt), within=lambda conn, out: self.vault.destroy(
            conn, subject, reason, out[0].seq, out[0].recorded_at))[0]
        self.vault.scrub()  # a warning, if it could not finish, is kept in vault.scrub_warning
        return event

    def record(
        self, signer: Signer, stream: str, type: str, payload: dict[str, Any], *,
        occurred_at: str | None = None, stream_version: int | None = None,
    ) -> Event:
        """Build, sign and append one event; returns it as stored."""
        if stream_version is not None:
            stmt = self.statement(signer, stream, type, payload, occurred_at=occurred_at, stream_version=stream_version)
            return self.append(signer.sign(stmt))[0]
        # "Next version, whatever it is": start from the version this object last wrote, if any, and
        # retry once with the real one should another writer have moved the stream on meanwhile.
        mark = self._verified.streams.get(stream) if self._verified is not None else None
        guess = mark.version if mark is not None else None
        stmt = self.statement(signer, stream, type, payload, occurred_at=occurred_at,
                              stream_version=guess + 1 if guess is not None else None)
        try:
            return self.append(signer.sign(stmt))[0]
        except ConflictError:
            if guess is None:
                raise
            stmt = self.statement(signer, stream, type, payload, occurred_at=occurred_at)
            return self.append(signer.sign(stmt))[0]

    def append(self, items: SignedStatement | Sequence[SignedStatement], *, within=None) -> list[Event]:
        """Append one signed statement or a batch, atomically. Returns the events as stored.

        ``within(conn, events)``, if given, runs inside the same transaction after the insert (an erasure
        destroys its key there, so event and destruction commit together or not at all).
        Raises :class:`ValidationError`, :class:`AuthorizationError` or :class:`ConflictError`; on any
        error nothing is written.
        """
        batch = [items] if isinstance(items, SignedStatement) else list(items)
        if not batch:
            return []
        batch = [self._from_bytes(item) for item in batch]
        expected_next: dict[str, int] = {}
        for item in batch:
            s = item.statement
            self.policy.validate_payload(s.type, s.payload)
            want = expected_next.get(s.stream)
            if want is not None and s.stream_version != want:
                raise ConflictError(s.stream, want - 1, s.stream_version - 1)
            expected_next[s.stream] = s.stream_version + 1
        if self._contended:
            # Others are writing too: verify what they wrote before taking the write lock, so that under
            # it only the events committed since are left to check (the lock is held for less time).
            self._refresh_registry()
        # Signatures are checked on other cores while this thread takes the lock and seals (sigcheck.py).
        early = EarlyChecks(batch, self._registry.keys)
        try:
            if groupcommit.eligible(self, batch, within):
                return groupcommit.append(self, batch, early)
            out = self._append_locked(batch, within, early=early)
        except BaseException:
            early.cancel()
            self._seen_head, self._versions = None, {}  # a rolled-back append: trust no cache
            self._rules_recorded, self._rules_seq = None, 0
            raise
        self._remember(self._last_appended)
        return out

    def _remember(self, every: Sequence[Event]) -> None:
        """After our own append: the head it left and the stream versions it wrote (see __init__)."""
        last = every[-1]
        self._seen_head = Head(last.seq, last.recorded_at, last.leaf_hash)
        for e in every:
            self._versions[e.statement.stream] = e.statement.stream_version

    def append_batches(self, signer: Signer, batches: Iterable[Sequence[Statement]]) -> Iterator[list[Event]]:
        """Append many batches (one transaction each), signing the next batch while this one is written.

        For bulk loads and migrations: a worker process signs batch k+1 on the other core while this
        process seals and inserts batch k. ``batches`` is consumed lazily, so it may be a generator.
        Yields each batch's events as stored; a failing batch raises and stops the load, with every
        earlier batch committed.
        """
        self._signers[signer.key_id] = signer
        with SigningProcess(signer) as worker:
            pending = None
            for batch in batches:
                future = worker.submit(list(batch))
                if pending is not None:
                    yield self.append(pending.result())
                pending = future
            if pending is not None:
                yield self.append(pending.result())

    @staticmethod
    def _from_bytes(item: SignedStatement) -> SignedStatement:
        """Trust only the signed bytes, whoever built the statement: the fields come from decoding them.

        (``signer_public_key`` of a local Signer is never trusted either: the signature is verified
        against the registered key in :meth:`_append_locked`, whatever built the statement.)
        """
        try:
            statement = decode_statement(item.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ValidationError(f"the signed statement bytes do not decode: {e}") from None
        if encode_statement(statement) != item.data:
            raise ValidationError("the signed statement bytes are not in canonical form")
        return SignedStatement(statement, item.data, item.signature)

    def _append_locked(self, batch: list[SignedStatement], within, heads_signer: Signer | None = None,
                       early: EarlyChecks | None = None) -> list[Event]:
        with self.store.writing() as conn:
            sealed = self._append_in(conn, batch, within, heads_signer, early)
        return self._after_commit(*sealed, heads_signer)

    def _append_in(self, conn, batch: list[SignedStatement], within, heads_signer: Signer | None,
                   early: EarlyChecks | None):
        """The append inside a write transaction that holds the lock: catch up, check, seal, insert.
        Returns what :meth:`_after_commit` needs once the transaction has committed."""
        head = self.store.head(conn)
        st = self._verified
        self._contended = st is not None and head is not None and (head.seq, head.leaf_hash) != (st.seq, st.leaf)
        if st is None or head is None or head.seq != st.seq or head.leaf_hash != st.leaf:
            st = self._catch_up(conn, head)  # another writer moved on: verify what it wrote first
        if head is None or head != self._seen_head:
            self._versions = {}
            self._refresh_rules(conn)
        if head is None and (not batch or batch[0].statement.type != identity.GENESIS):
            raise ValidationError("an empty ledger must start with its genesis event")
        rules = self._rules_statement(conn, batch, heads_signer)
        if rules is not None:
            # The genesis event comes first of all; everything else is appended under recorded rules.
            at = 1 if batch and batch[0].statement.type == identity.GENESIS else 0
            batch = batch[:at] + [rules] + batch[at:]
        # Key events in the batch change the registry as it is folded; work on a copy then, so a
        # failed batch leaves ours untouched. Otherwise the registry is only read (and copying
        # thousands of keys on every append would cost more than the append).
        changes_keys = any(item.statement.type in identity.KEY_EVENT_TYPES for item in batch)
        registry = self._registry.copy() if changes_keys else self._registry
        first_version: dict[str, int] = {}
        for item in batch:
            first_version.setdefault(item.statement.stream, item.statement.stream_version)
        if heads_signer is not None:
            first_version.setdefault(HEADS_STREAM, 0)
        unknown = [st for st in first_version if st not in self._versions]
        current_versions = dict(self._versions)
        if unknown:
            # Verified versions, not the database's say-so.
            current_versions.update({x: (st.streams[x].version if x in st.streams else 0) for x in unknown})
        for stream, version in first_version.items():
            current = current_versions[stream]
            if stream == HEADS_STREAM and heads_signer is not None and version == 0:
                continue
            if current != version - 1:
                raise ConflictError(stream, version - 1, current)
        seq = head.seq if head else 0
        prev = head.leaf_hash.hex() if head else GENESIS_PREV
        recorded_at = timefmt.now()
        if head and recorded_at < head.recorded_at:
            recorded_at = head.recorded_at  # ledger time never runs backwards, whatever the clock says
        if heads_signer is not None:
            # The map over every record before the StreamHeads event: the stored heads, then this batch.
            try:
                stream_heads = heads_as_of(conn, seq)
            except StoreError as e:  # a stored head that disagrees with its record: damage, never signed
                raise self._locate(conn, str(e)) from None
            batch = [*batch, None]  # the StreamHeads statement is built and signed when its turn comes
        rows, out, theirs, signed = [], [], [], []
        try:
            for item in batch:
                ours = item is None or item is rules  # appended by the ledger itself, not the caller
                if item is None:
                    stmt = make_statement(
                        stream=HEADS_STREAM, stream_version=current_versions.get(HEADS_STREAM, 0) + 1,
                        type=STREAM_HEADS, occurred_at=recorded_at, actor=heads_signer.actor,
                        key_id=heads_signer.key_id, ledger=registry.ledger_id,
                        payload=HeadsMap(stream_heads).payload(seq))
                    item = heads_signer.sign(stmt)
                s = item.statement
                seq += 1
                if s.type == identity.GENESIS:
                    if seq != 1:
                        raise ValidationError("a genesis event can only be the first event")
                    registry.apply(seq, s)
                info = registry.authorize(s, self.policy.get(s.type).roles)
                # Every signature, whoever built the statement: no public path appends one that fails.
                signed.append((item, info.public_key))
                if changes_keys and s.type != identity.GENESIS:
                    registry.apply(seq, s)
                record_bytes = encode_record(Record(seq, recorded_at, prev, item.data, item.signature))
                lh = leaf_hash(record_bytes)
                rows.append((seq, s.stream, s.stream_version, s.type, s.actor, s.occurred_at, recorded_at, lh,
                             record_bytes))
                out.append(Event(seq, recorded_at, prev, s, item.data, item.signature, record_bytes, lh))
                if not ours:
                    theirs.append(out[-1])
                if heads_signer is not None:
                    stream_heads[s.stream] = StreamHead(s.stream_version, seq, lh)
                prev = lh.hex()
        except (ValidationError, AuthorizationError):
            self._check_signatures(signed, early)  # a bad signature before the refusal is named first
            raise
        self.store.insert(conn, rows)
        # Every signature verifies under the key authorised at its position, before anything else is
        # written and before the commit (the checks started early run meanwhile).
        self._check_signatures(signed, early)
        for hook in self._append_hooks:
            hook(conn, out)
        self.vault.flush(conn, out)  # subject keys made for this batch commit with it, or not at all
        if within is not None:
            within(conn, out)
        return out, theirs, registry, rules

    def _after_commit(self, out: list[Event], theirs: list[Event], registry: KeyRegistry, rules,
                      heads_signer: Signer | None) -> list[Event]:
        # Committed: these events are verified (we checked every signature above) and extend the state.
        self.vault.committed()
        self._extend(out)
        self._registry = registry
        if rules is not None:
            self._rules_recorded = self.policy.rules()[1]
            self._rules_seq = next(e.seq for e in out if e.type == RULES_IN_FORCE)
        self._last_appended = out  # everything this append wrote, the ledger's own events included
        return theirs if heads_signer is None else out

    @staticmethod
    def _check_signatures(signed: list[tuple[SignedStatement, bytes]], early: EarlyChecks | None) -> None:
        """Raise AuthorizationError for the first statement whose signature does not verify under its key."""
        for item, public_key in signed:
            ok = (early.verifies(item, public_key) if early is not None
                  else keys.verify(public_key, item.signature, item.data))
            if not ok:
                s = item.statement
                raise AuthorizationError(f"the signature on the {s.type} statement does not verify under key {s.key_id}")

    def _refresh_rules(self, conn) -> None:
        """Fold ``ledger/policy`` up to the head: the canonical bytes of the last recorded rules."""
        for seq, record in self.store.stream_records(conn, POLICY_STREAM, self._rules_seq):
            try:
                stmt = decode_statement(decode_record(record).statement)
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                raise self._locate(conn, f"the rules events in this ledger are damaged ({e})") from None
            self._rules_recorded, self._rules_seq = rules_bytes(stmt.payload), seq

    def _rules_statement(self, conn, batch: list[SignedStatement], extra: Signer | None) -> SignedStatement | None:
        """A RulesInForce statement if the loaded rules differ from the recorded ones, else ``None``.

        Signed by the first signer of this append (or the checkpoint's signer) who holds an
        authority-wide role; if none of them does, the append is refused: rules nobody vouched for
        would make every later event's authorisation an unsigned claim.
        """
        payload, data = self.policy.rules()
        if data == self._rules_recorded:
            return None
        candidates = [self._signers.get(item.statement.key_id) for item in batch]
        if extra is not None:
            candidates.append(extra)
        genesis = bool(batch) and batch[0].statement.type == identity.GENESIS
        for signer in candidates:
            if signer is None:
                continue
            info = self._registry.keys.get(signer.key_id)
            # Authority-wide roles only: a role limited to some tilbud does not reach ledger/policy.
            roles = {r for r in info.roles if r not in info.scopes} if info is not None else (
                set(batch[0].statement.payload.get("roles", ())) if genesis else set())
            if not roles & RULES_SIGNERS:
                continue
            version = self._versions.get(POLICY_STREAM)
            if version is None:
                version = self.store.stream_version(conn, POLICY_STREAM)
            stmt = make_statement(stream=POLICY_STREAM, stream_version=version + 1, type=RULES_IN_FORCE,
                                  occurred_at=timefmt.now(), actor=signer.actor, key_id=signer.key_id,
                                  ledger=self._registry.ledger_id or batch[0].statement.ledger, payload=payload)
            return signer.sign(stmt)
        last = f" (last recorded at seq {self._rules_seq})" if self._rules_seq else ""
        raise ValidationError(
            "the rules in force (event types, roles, plugin versions) differ from the ones recorded in the ledger"
            f"{last}; someone with an authority-wide role must append first, so that they are recorded")

    def append_stream_heads(self, signer: Signer, then=None) -> Event:
        """Append a StreamHeads event (heads.py) committing to every stream's last event before it.

        Built and signed under the write lock, so the map is exact for the position it lands at; a
        checkpoint signed at that event's seq then commits to every stream's head (checkpoints.py).
        ``then(conn, event, root)``, if given, runs in the same transaction with the Merkle root of the
        verified records up to and including the event (from the verified right edge, never from the
        ``merkle_nodes`` cache): a checkpoint is signed there, so event and checkpoint commit together.
        """
        self._signers[signer.key_id] = signer

        def within(conn, out):
            # Before commit ``self._edge`` still ends at the verified head before this append.
            edge = RightEdge.resume(self._edge.size, self._edge.edge())
            for e in out:
                edge.add(e.leaf_hash)
            then(conn, out[-1], edge.root())

        try:
            out = self._append_locked([], within if then is not None else None, heads_signer=signer)
        except BaseException:
            self._seen_head, self._versions = None, {}
            self._rules_recorded, self._rules_seq = None, 0
            raise
        self._remember(out)
        return out[-1]

    def _extend(self, events: Sequence["Event"]) -> None:
        st, edge = self._verified, self._edge
        if st.seq == 0 and events and events[0].seq == 1:
            st.genesis, st.url = events[0].leaf_hash, self._trust_key(events[0].leaf_hash)
        for e in events:
            s = e.statement
            mark = st.streams.get(s.stream)
            st.streams[s.stream] = StreamMark(s.stream_version, e.seq,
                                              extend_digest(mark.digest if mark else ZERO_DIGEST, e.leaf_hash))
            if s.type == SUBJECT_ERASED and s.stream == SUBJECTS_STREAM and isinstance(s.payload.get("subject"), str):
                st.erased.setdefault(s.payload["subject"], e.seq)
            edge.add(e.leaf_hash)
        last = events[-1]
        st.seq, st.leaf, st.recorded_at = last.seq, last.leaf_hash, last.recorded_at
        self._dirty = True

    def add_append_hook(self, hook) -> None:
        """Call ``hook(conn, events)`` inside every append transaction (e.g. to extend the Merkle tree)."""
        self._append_hooks.append(hook)

    # -- reading (verified) ---------------------------------------------------------------------
    def read(
        self, *, stream: str | None = None, after_seq: int = 0, until_seq: int | None = None,
        types: Sequence[str] | None = None, since: StreamMark | None = None,
    ) -> Iterator[Event]:
        """Events in ``seq`` order, optionally of one stream, a seq window, or some types — verified.

        Only what checks out against what this machine verified (trust.py) is returned: a stream's
        events by their bytes, versions and the stream's digest; other reads by the hash chain up to the
        verified head. Raises :class:`DamagedError` naming the seq instead of returning anything damaged.
        ``since`` (a :class:`StreamMark` a snapshot was taken at) reads a stream from there on.
        """
        wanted = frozenset(types) if types else None
        if stream is not None:
            events = [e for e in self._read_stream(stream, since) if wanted is None or e.type in wanted]
        else:
            events = self._read_chain(after_seq, wanted)
        return iter([e for e in events if e.seq > after_seq and (until_seq is None or e.seq <= until_seq)])

    def read_unverified(
        self, *, stream: str | None = None, after_seq: int = 0, until_seq: int | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[Event]:
        """Events as the database holds them, unchecked (for diagnostics; views use :meth:`read`)."""
        with self.store.reading() as conn:
            for row in self.store.iter_events(conn, stream=stream, after_seq=after_seq, until_seq=until_seq,
                                              types=tuple(types) if types else None):
                yield Event.from_stored(row)

    def stream_mark(self, stream: str) -> StreamMark | None:
        """The verified position of ``stream`` (version, last seq, digest), for binding caches to it."""
        with self.store.reading() as conn:
            return self._catch_up(conn).streams.get(stream)

    def stream_mark_at(self, stream: str, seq: int) -> StreamMark | None:
        """The verified mark of ``stream`` as of its event at ``seq`` (None if it has no event there)."""
        digest = ZERO_DIGEST
        for e in self._read_stream(stream, None):
            digest = extend_digest(digest, e.leaf_hash)
            if e.seq == seq:
                return StreamMark(e.statement.stream_version, seq, digest)
        return None

    def verified_streams(self, prefix: str = "") -> list[str]:
        """Every stream (starting with ``prefix``) of the verified ledger."""
        with self.store.reading() as conn:
            return sorted(k for k in self._catch_up(conn).streams if k.startswith(prefix))

    def erasure_seq(self, subject: str) -> int | None:
        """The seq of the verified signed erasure of ``subject``, if there is one."""
        with self.store.reading() as conn:
            return self._catch_up(conn).erased.get(subject)

    def verified_head(self, conn=None) -> tuple[int, bytes]:
        """``(size, Merkle root)`` of the verified ledger, from the verified records (never from the
        ``merkle_nodes`` cache)."""
        if conn is None:
            with self.store.reading() as c:
                self._catch_up(c)
        else:
            self._catch_up(conn)
        return self._verified.seq, self._edge.root()

    def check_records_since(self, conn, after_seq: int) -> None:
        """Re-read the records after ``after_seq`` up to the verified head and check they are still the
        ones verified: each hashed afresh, each ``prev`` the hash of the one before, the last the verified
        head's leaf (so, link by link, every one of them). Raises :class:`DamagedError` naming the seq.

        For what is about to be signed (a checkpoint covering them): the catch-up verified these records
        once, but a database-only insider may have changed them since. Checks against the verified state
        as it stands (inside an append, the head before it), without catching up.
        """
        st = self._verified if self._verified is not None else self._catch_up(conn)
        after_seq = max(0, min(after_seq, st.seq))
        if after_seq == st.seq:
            return
        expect, prev, last = after_seq + 1, None, None
        for row in self.store.iter_events(conn, after_seq=after_seq, until_seq=st.seq):
            try:
                e = self._row_event(row)  # bytes, stored leaf hash and indexed columns of the row
            except DamagedError as damage:
                raise self._locate(conn, damage.reason) from None
            if row.seq != expect or (prev is not None and e.prev != prev):
                raise self._locate(conn, "the records differ from those this machine verified")
            prev, last, expect = e.leaf_hash.hex(), e.leaf_hash, row.seq + 1
        if expect - 1 != st.seq or last != st.leaf:
            raise self._locate(conn, "the records differ from those this machine verified")

    def rebuild_tree(self, conn, size: int | None = None, root: bytes | None = None) -> None:
        """Replace the ``merkle_nodes`` cache by the tree of the first ``size`` records, hashed afresh from
        their bytes, after checking that they give the verified ``root`` (default: the verified head's
        size and root). Call under the write lock. For a cache found to disagree with the records: it is
        rebuilt, never signed. Raises :class:`DamagedError` if the records are not the ones verified."""
        if size is None or root is None:
            self._catch_up(conn)
            size, root = self._verified.seq, self._edge.root()
        leaves: list[bytes] = []
        edge = RightEdge()
        for row in self.store.iter_events(conn, until_seq=size):
            if row.seq != len(leaves) + 1:
                break
            lh = leaf_hash(row.record)
            leaves.append(lh)
            edge.add(lh)
        if edge.size != size or edge.root() != root:
            raise self._locate(conn, "the records differ from those this machine verified")
        self.tree.rebuild(conn, leaves)

    def adopt_verified(self, report) -> None:
        """After a full :func:`~tilsyn.ledger.verify.verify_ledger` of this ledger: compare with what this
        machine verified before (adding a problem to ``report`` if events it saw are gone or changed),
        and, if the report is clean, keep its result as the verified state."""
        from .verify import Problem

        walker = report.walker
        if walker is None:
            return
        key = self._trust_key(walker.genesis)
        before = self.trust.load(key)
        size = walker.expected_seq - 1
        if before is not None and before.seq:
            leaves = walker.leaves or b""
            if before.seq > size:
                report.problems.append(Problem(size + 1, f"events {size + 1}–{before.seq}, verified by this machine "
                                                         "before, are gone (the ledger was truncated)"))
            elif bytes(leaves[(before.seq - 1) * 32:before.seq * 32]) != before.leaf:
                report.problems.append(Problem(before.seq, "the record differs from the one this machine verified "
                                                           "before (history was rewritten)"))
        if report.ok:
            self._verified, self._edge, self._registry = walker.state(key), walker.edge, walker.registry
            self._dirty = True

    def _row_event(self, row, stream: str | None = None, version: int | None = None) -> Event:
        """An :class:`Event` from a row, checking what one row alone can show; raises DamagedError."""
        try:
            rec = decode_record(row.record)
            stmt = decode_statement(rec.statement)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise DamagedError(row.seq, f"the stored record does not decode ({e})") from None
        lh = leaf_hash(row.record)
        if rec.seq != row.seq:
            raise DamagedError(row.seq, f"the row holds the record of seq {rec.seq}")
        if lh != row.leaf_hash:
            raise DamagedError(row.seq, "the record bytes do not match the stored leaf hash (the record was altered)")
        if stream is not None and stmt.stream != stream:
            raise DamagedError(row.seq, f"the row is filed under stream {stream!r} but its signed statement is of "
                                        f"{stmt.stream!r} (the stream column was edited)")
        if version is not None and stmt.stream_version != version:
            raise DamagedError(row.seq, f"stream {stmt.stream} should continue at version {version} here, not "
                                        f"{stmt.stream_version} (an event was removed, added or moved)")
        for col in ("stream", "stream_version", "type", "actor", "occurred_at"):
            if getattr(row, col) != getattr(stmt, col):
                raise DamagedError(row.seq, f"the indexed column {col} differs from the signed statement")
        if row.recorded_at != rec.recorded_at:
            raise DamagedError(row.seq, "the indexed column recorded_at differs from the sealed record")
        return Event(rec.seq, rec.recorded_at, rec.prev, stmt, rec.statement, rec.signature, row.record, lh)

    def _read_stream(self, stream: str, since: StreamMark | None) -> list[Event]:
        with self.store.reading() as conn:
            st = self._catch_up(conn)
            mark = st.streams.get(stream)
            start = since or StreamMark(0, 0, ZERO_DIGEST)
            digest, version, out = start.digest, start.version, []
            for row in self.store.iter_events(conn, stream=stream, after_seq=start.seq, until_seq=st.seq):
                version += 1
                e = self._row_event(row, stream, version)
                digest = extend_digest(digest, e.leaf_hash)
                out.append(e)
            if mark is None and not out and since is None:
                return []
            if mark is None or (version, digest) != (mark.version, mark.digest):
                raise self._locate(conn, f"the events of stream {stream} differ from those this machine verified "
                                         "(an event was removed, replaced or re-filed)")
            return out

    def _read_chain(self, after_seq: int, types: frozenset[str] | None) -> list[Event]:
        # Every record from after_seq to the verified head, linked by prev up to the verified leaf: the
        # chain authenticates each record, whatever its stream or type columns say.
        with self.store.reading() as conn:
            st = self._catch_up(conn)
            out, expect, prev = [], after_seq + 1, None
            for row in self.store.iter_events(conn, after_seq=after_seq, until_seq=st.seq):
                if row.seq != expect:
                    raise DamagedError(min(row.seq, expect), f"seq {expect} is missing (found seq {row.seq} next)")
                e = self._row_event(row)
                if prev is not None and e.prev != prev:
                    raise DamagedError(row.seq - 1, f"the record was altered (seq {row.seq} names a different hash "
                                                    "as prev)")
                prev, expect = e.leaf_hash.hex(), row.seq + 1
                if types is None or e.type in types:
                    out.append(e)
            if st.seq > after_seq and (expect - 1 != st.seq or prev != st.leaf.hex()):
                raise self._locate(conn, "the records differ from those this machine verified")
            return out

    def stream_version(self, stream: str) -> int:
        """The stream's current (verified) version (0 if it has no events)."""
        mark = self.stream_mark(stream)
        return mark.version if mark is not None else 0

    def head(self):
        with self.store.reading() as conn:
            return self.store.head(conn)

    def count(self) -> int:
        with self.store.reading() as conn:
            return self.store.count(conn)

    # -- catching up with what others wrote -------------------------------------------------------
    def _refresh_registry(self, conn=None) -> None:
        if conn is not None:
            self._catch_up(conn)
        else:
            with self.store.reading() as c:
                self._catch_up(c)

    def _catch_up(self, conn, head: Head | None = None) -> Verified:
        """Bring what this object verified up to the head: check the anchor, fold the key registry from
        verified key events, verify every event beyond the verified prefix. Raises DamagedError."""
        head = head if head is not None else self.store.head(conn)
        st = self._verified
        if st is not None and head is not None and head.seq == st.seq and head.leaf_hash == st.leaf:
            return st
        fresh = st is None
        if fresh:
            key = self._trust_key(self._genesis_leaf(conn) if head is not None else b"")
            st = self.trust.load(key) or Verified(url=key)
        if head is None:
            if st.seq:
                raise DamagedError(1, f"the ledger is empty, but this machine verified {st.seq} events of it before")
            self._verified, self._edge = st, RightEdge()
            return st
        if st.seq:
            self._check_anchor(conn, st, head)
        registry = self._registry
        if fresh:
            registry = self._fold_keys(conn, st) if st.seq else KeyRegistry()
        if head.seq > st.seq:
            from .verify import Report, _Walker, scan

            if not fresh:
                st.edge = self._edge.edge()  # the live edge (the state's copy is refreshed only on save)
                registry = registry.copy()  # a failed catch-up must leave ours as it was
            report = Report()
            walker = _Walker(self.policy, report, st if st.seq else None, registry)
            walker.leaves, walker.lenient_types = None, True
            scan(conn, self.store, walker, after_seq=st.seq)
            if walker.expected_seq - 1 < head.seq and not report.problems:
                walker.problem(walker.expected_seq, "the events table ends before its head row")
            if report.problems:
                first = report.first
                raise DamagedError(first.seq, first.message)
            st, registry = walker.state(st.url), walker.registry
            self._edge = walker.edge
            self._dirty = True
        elif fresh:
            self._edge = RightEdge.resume(st.seq, st.edge)
        self._verified, self._registry = st, registry
        return st

    def _lost_events(self) -> DamagedError | None:
        """Damage, if the newest stored checkpoint commits to more events than the ledger holds: events
        were cut off below a signed checkpoint (on a machine that never verified them, only the
        checkpoint can show it). One indexed read."""
        from .checkpoints import latest_checkpoint

        cp = latest_checkpoint(self)
        size = self._verified.seq if self._verified is not None else 0
        if cp is None or cp.size <= size:
            return None
        return self.locate_damage(f"checkpoint #{cp.id} commits to {cp.size} events but the ledger has only {size} "
                                  "(the ledger was truncated)")

    def _trust_key(self, genesis: bytes) -> str:
        """Which verified state belongs to this ledger: its database (a SQLite file by its real path)
        and its genesis record, so a new ledger made where an old one was starts afresh."""
        url = self.store.url
        if self.store.dialect == "sqlite":
            url = "sqlite:///" + os.path.realpath(self.store.engine.url.database)
        return f"{url}#{genesis.hex()}"

    def _genesis_leaf(self, conn) -> bytes:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        row = conn.exec_driver_sql(f"SELECT record FROM events WHERE seq = {mark}", (1,)).first()
        if row is None:
            raise DamagedError(1, "the genesis record (seq 1) is missing")
        return leaf_hash(bytes(row[0]))

    def _check_anchor(self, conn, st: Verified, head: Head) -> None:
        if head.seq < st.seq:
            raise DamagedError(head.seq + 1, f"events {head.seq + 1}–{st.seq}, verified by this machine before, "
                                             "are gone (the ledger was truncated or rewound)")
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        rows = {r[0]: (stored_bytes(r[1]), stored_bytes(r[2])) for r in conn.exec_driver_sql(
            f"SELECT seq, leaf_hash, record FROM events WHERE seq IN ({mark}, {mark})", (1, st.seq))}
        for seq, want in ((1, st.genesis), (st.seq, st.leaf)):
            got = rows.get(seq)
            if got is None or got[0] != want or leaf_hash(got[1]) != want:
                raise DamagedError(seq, "the record differs from the one this machine verified before"
                                        + (" (another genesis: not the ledger verified here)" if seq == 1 else ""))

    def _fold_keys(self, conn, st: Verified) -> KeyRegistry:
        """The registry from the verified key events only: their bytes must give the digest verified."""
        registry = KeyRegistry()
        registry.recheck = False  # verified before: names and proofs were checked then
        mark = st.streams.get(KEYS_STREAM)
        digest, version = ZERO_DIGEST, 0
        try:
            for seq, record in self.store.stream_records(conn, KEYS_STREAM, 0):
                if seq > st.seq:
                    break
                lh = leaf_hash(record)
                digest, version = extend_digest(digest, lh), version + 1
                rec = decode_record(record)
                stmt = decode_statement(rec.statement)
                if rec.seq != seq or stmt.stream != KEYS_STREAM or stmt.stream_version != version:
                    raise DamagedError(seq, "the key event is not the one verified at this position")
                registry.apply(seq, stmt)
        except DamagedError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure to fold a stored key event is damage
            raise self._locate(conn, f"the key events do not fold ({type(e).__name__}: {e})") from None
        if mark is None or (version, digest) != (mark.version, mark.digest):
            raise self._locate(conn, "the key events differ from those this machine verified (a key event was "
                                     "forged, removed, altered or re-filed)")
        registry.recheck = True
        return registry

    def _locate(self, conn, fallback: str) -> DamagedError:
        """The precise first damaged seq, by a full verification (only on the path to an error)."""
        return self.locate_damage(fallback)

    def locate_damage(self, fallback: str) -> DamagedError:
        """A :class:`DamagedError` naming the first damaged seq as ``tilsyn verify`` finds it (events,
        caches, checkpoints), or ``fallback`` at the verified head if it finds nothing. Costs a full
        verification: only on the path to an error."""
        from .checkpoints import verify_all

        report, _ = verify_all(self, kek=self.vault.kek)
        first = report.first
        if first is not None:
            return DamagedError(first.seq, first.message)
        return DamagedError(self._verified.seq if self._verified else 1, fallback)
