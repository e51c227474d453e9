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
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import msgspec

from . import identity, keys, timefmt
from .envelope import (GENESIS_PREV, Record, Statement, decode_record, decode_statement, encode_record,
                       encode_statement, leaf_hash, make_statement)
from .errors import AuthorizationError, ConflictError, LedgerError, StoreError, ValidationError
from .heads import HEADS_STREAM, STREAM_HEADS, Head as StreamHead, HeadsMap, heads_as_of
from .identity import KEYS_STREAM, KeyInfo, KeyRegistry
from .origin import check_origin
from .keys import KeyStore
from .personal import SubjectVault
from .policy import SUBJECT_ERASED, SUBJECT_FIELD, SUBJECTS_STREAM, Policy
from .rules import POLICY_STREAM, RULES_IN_FORCE, RULES_SIGNERS, rules_bytes
from .signing import SignedStatement, Signer, SigningProcess
from .store import Head, Store, StoredEvent
from .tree import LedgerTree


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
            "payload": s.payload, "signature": base64.b64encode(self.signature).decode(),
        }


class Ledger:
    """A tamper-evident, append-only ledger of signed events. Open with :meth:`open` or :meth:`init`."""

    def __init__(self, store: Store, policy: Policy | None = None, kek: bytes | None = None):
        self.store = store
        self.policy = policy or Policy()
        self.vault = SubjectVault(store, kek)  # per-subject keys for personal fields (personal.py)
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
        self._append_hooks: list = []
        self.tree = LedgerTree(store)  # the Merkle tree, extended inside every append transaction
        self.add_append_hook(self.tree.on_append)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, policy: Policy | None = None, kek: bytes | None = None, *,
             read_only: bool = False) -> "Ledger":
        """Open an existing ledger at ``url`` (a file path, ``sqlite:///…`` or ``postgresql+psycopg://…``).

        ``kek`` is the operator's key-encryption key for personal data (see personal.py); without it
        events with personal fields can neither be recorded nor read in clear. ``read_only`` opens the
        database for reading only (see :meth:`Store.connect`).
        """
        store = Store.connect(url, read_only=read_only)
        # A missing SQLite file is checked first: looking into it would create an empty file where the
        # user mistyped a path.
        if (store.dialect == "sqlite" and not os.path.exists(store.engine.url.database)) or not store.has_schema():
            raise StoreError(f"no ledger at {store.display_url()}; create one with 'tilsyn init'")
        ledger = cls(store, policy, kek)
        ledger._refresh_registry()
        if not ledger._registry.keys:
            raise StoreError(f"the ledger at {store.display_url()} has no genesis event")
        return ledger

    @classmethod
    def init(
        cls, url: str, authority: str, keystore: KeyStore, *, passphrase: str | None = None,
        policy: Policy | None = None, origin: str | None = None, occurred_at: str | None = None,
        kek: bytes | None = None,
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
        ledger = cls(store, policy, kek)
        private = keys.generate()
        signer = Signer(authority, private)
        ledger._signers[signer.key_id] = signer  # records the rules in force right after the genesis event
        ledger_id = str(uuid.uuid4())
        payload = {
            "ledger_id": ledger_id,
            "origin": origin or f"tilsyn-ledger/{ledger_id}",
            "authority": authority,
            "key_id": signer.key_id,
            "public_key": base64.b64encode(signer.public_key).decode(),
            "roles": ["admin"],
        }
        stmt = make_statement(stream=KEYS_STREAM, stream_version=1, type=identity.GENESIS,
                              occurred_at=occurred_at or timefmt.now(), actor=authority,
                              key_id=signer.key_id, payload=payload)
        # Write the key file first: a ledger whose authority key was lost could never be administered.
        path = keystore.save(private, passphrase)
        try:
            ledger.append(signer.sign(stmt))
        except ConflictError:  # another init got its genesis in first
            path.unlink(missing_ok=True)
            raise StoreError(f"another process created a ledger at {store.display_url()} at the same time; "
                             f"nothing was changed") from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return ledger, signer

    def close(self) -> None:
        self.store.dispose()

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
    def genesis_key_id(self) -> str:
        """The id of the authority's genesis key (it signs checkpoints)."""
        return self._registry.genesis_key_id or ""

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
        return signer

    def register_key(
        self, admin: Signer, name: str, roles: Sequence[str], keystore: KeyStore, *,
        passphrase: str | None = None, occurred_at: str | None = None,
    ) -> tuple[KeyInfo, str]:
        """Create a key pair for ``name`` with ``roles``; store the private key; append the registration."""
        if self.registry().active_key(name) is not None:
            raise ValidationError(f"{name!r} already has an active key; revoke it first or grant a role")
        bad = [r for r in roles if r not in identity.ROLES]
        if bad or not roles:
            raise ValidationError(f"unknown role {bad[0]!r}; roles are {', '.join(identity.ROLES)}"
                                  if bad else "give at least one role")
        private = keys.generate()
        pub = keys.public_bytes(private)
        payload = {"name": name, "key_id": keys.key_id(pub), "public_key": base64.b64encode(pub).decode(),
                   "roles": sorted(set(roles))}
        path = keystore.save(private, passphrase)
        try:
            self.record(admin, KEYS_STREAM, identity.KEY_REGISTERED, payload, occurred_at=occurred_at)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return self.registry().keys[payload["key_id"]], str(path)

    def grant_role(self, admin: Signer, name: str, role: str, *, occurred_at: str | None = None) -> Event:
        """Grant ``role`` to ``name``'s active key."""
        info = self._require_active(name)
        if role in info.roles:
            raise ValidationError(f"{name!r} already holds the role {role!r}")
        return self.record(admin, KEYS_STREAM, identity.ROLE_GRANTED,
                           {"key_id": info.key_id, "name": name, "roles": [role]}, occurred_at=occurred_at)

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
                              key_id=signer.key_id, payload=payload)
        self.policy.validate_payload(stmt.type, stmt.payload)
        return self.seal(stmt) if seal else stmt

    def seal(self, statement: Statement) -> Statement:
        """Encrypt the statement's personal fields for its data subject (a no-op without a subject)."""
        payload = self.seal_payload(statement.payload, statement.type, statement.stream, statement.stream_version)
        return statement if payload is statement.payload else msgspec.structs.replace(statement, payload=payload)

    def seal_payload(self, payload: dict[str, Any], type: str, stream: str, stream_version: int) -> dict[str, Any]:
        """``payload`` with the personal fields of ``type`` sealed for its ``subject``, bound to the event
        at ``stream``/``stream_version`` (also used for a payload nested in another, such as a correction's
        replacement)."""
        subject = payload.get(SUBJECT_FIELD)
        fields = self.policy.get(type).personal_fields
        if not subject or not fields:
            return payload
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
        if row is not None and row.wrapped is None:
            raise ValidationError(f"{subject!r} was erased already ({row.erased_at[:10]}, seq {row.erase_seq})")
        stmt = self.statement(signer, SUBJECTS_STREAM, SUBJECT_ERASED, {"subject": subject, "reason": reason},
                              occurred_at=occurred_at)
        event = self.append(signer.sign(stmt), within=lambda conn, out: self.vault.destroy(
            conn, subject, reason, out[0].seq, out[0].recorded_at))[0]
        self.vault.scrub()
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
        guess = self._versions.get(stream)
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
        try:
            out = self._append_locked(batch, within)
        except BaseException:
            self._seen_head, self._versions = None, {}  # a rolled-back append: trust no cache
            self._rules_recorded, self._rules_seq = None, 0
            raise
        every = self._last_appended
        last = every[-1]
        self._seen_head = Head(last.seq, last.recorded_at, last.leaf_hash)
        for e in every:
            self._versions[e.statement.stream] = e.statement.stream_version
        return out

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
        """For a statement signed elsewhere, trust only its bytes: the fields come from decoding them."""
        if item.signer_public_key is not None:
            return item  # made by a local Signer from this very statement (see signing.py)
        try:
            statement = decode_statement(item.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise ValidationError(f"the signed statement bytes do not decode: {e}") from None
        if encode_statement(statement) != item.data:
            raise ValidationError("the signed statement bytes are not in canonical form")
        return SignedStatement(statement, item.data, item.signature)

    def _append_locked(self, batch: list[SignedStatement], within, heads_signer: Signer | None = None) -> list[Event]:
        with self.store.writing() as conn:
            head = self.store.head(conn)
            fresh = head is not None and head == self._seen_head
            if not fresh:
                self._versions = {}
                self._refresh_registry(conn)
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
                current_versions.update(self.store.stream_versions(conn, unknown))
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
                stream_heads = heads_as_of(conn, seq)
                batch = [*batch, None]  # the StreamHeads statement is built and signed when its turn comes
            rows, out, theirs = [], [], []
            for item in batch:
                ours = item is None or item is rules  # appended by the ledger itself, not the caller
                if item is None:
                    stmt = make_statement(
                        stream=HEADS_STREAM, stream_version=current_versions.get(HEADS_STREAM, 0) + 1,
                        type=STREAM_HEADS, occurred_at=recorded_at, actor=heads_signer.actor,
                        key_id=heads_signer.key_id, payload=HeadsMap(stream_heads).payload(seq))
                    item = heads_signer.sign(stmt)
                s = item.statement
                seq += 1
                if s.type == identity.GENESIS:
                    if seq != 1:
                        raise ValidationError("a genesis event can only be the first event")
                    registry.apply(seq, s)
                info = registry.authorize(s, self.policy.get(s.type).roles)
                if item.signer_public_key is not None:
                    if item.signer_public_key != info.public_key:
                        raise AuthorizationError(f"statement signed with a key other than {s.key_id}")
                elif not keys.verify(info.public_key, item.signature, item.data):
                    raise AuthorizationError(
                        f"the signature on the {s.type} statement does not verify under key {s.key_id}")
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
            self.store.insert(conn, rows)
            for hook in self._append_hooks:
                hook(conn, out)
            if within is not None:
                within(conn, out)
        self._registry = registry
        if rules is not None:
            self._rules_recorded = self.policy.rules()[1]
            self._rules_seq = next(e.seq for e in out if e.type == RULES_IN_FORCE)
        self._last_appended = out  # everything this append wrote, the ledger's own events included
        return theirs if heads_signer is None else out

    def _refresh_rules(self, conn) -> None:
        """Fold ``ledger/policy`` up to the head: the canonical bytes of the last recorded rules."""
        for seq, record in self.store.stream_records(conn, POLICY_STREAM, self._rules_seq):
            try:
                stmt = decode_statement(decode_record(record).statement)
            except (msgspec.DecodeError, msgspec.ValidationError) as e:
                raise LedgerError(f"the rules events in this ledger are damaged ({e}); run 'tilsyn verify'") from None
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
            roles = set(info.roles) if info is not None else (
                set(batch[0].statement.payload.get("roles", ())) if genesis else set())
            if not roles & RULES_SIGNERS:
                continue
            version = self._versions.get(POLICY_STREAM)
            if version is None:
                version = self.store.stream_version(conn, POLICY_STREAM)
            stmt = make_statement(stream=POLICY_STREAM, stream_version=version + 1, type=RULES_IN_FORCE,
                                  occurred_at=timefmt.now(), actor=signer.actor, key_id=signer.key_id,
                                  payload=payload)
            return signer.sign(stmt)
        last = f" (last recorded at seq {self._rules_seq})" if self._rules_seq else ""
        raise ValidationError(
            "the rules in force (event types, roles, plugin versions) differ from the ones recorded in the ledger"
            f"{last}; someone with an authority-wide role must append first, so that they are recorded")

    def append_stream_heads(self, signer: Signer) -> Event:
        """Append a StreamHeads event (heads.py) committing to every stream's last event before it.

        Built and signed under the write lock, so the map is exact for the position it lands at; a
        checkpoint signed at that event's seq then commits to every stream's head (checkpoints.py).
        """
        self._signers[signer.key_id] = signer
        try:
            out = self._append_locked([], None, heads_signer=signer)
        except BaseException:
            self._seen_head, self._versions = None, {}
            self._rules_recorded, self._rules_seq = None, 0
            raise
        last = out[-1]
        self._seen_head = Head(last.seq, last.recorded_at, last.leaf_hash)
        for e in out:
            self._versions[e.statement.stream] = e.statement.stream_version
        return last

    def add_append_hook(self, hook) -> None:
        """Call ``hook(conn, events)`` inside every append transaction (e.g. to extend the Merkle tree)."""
        self._append_hooks.append(hook)

    # -- reading -------------------------------------------------------------------------------
    def read(
        self, *, stream: str | None = None, after_seq: int = 0, until_seq: int | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[Event]:
        """Events in ``seq`` order, optionally of one stream, a seq window, or some types."""
        with self.store.reading() as conn:
            for row in self.store.iter_events(conn, stream=stream, after_seq=after_seq, until_seq=until_seq,
                                              types=tuple(types) if types else None):
                yield Event.from_stored(row)

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 if it has no events)."""
        with self.store.reading() as conn:
            return self.store.stream_version(conn, stream)

    def head(self):
        with self.store.reading() as conn:
            return self.store.head(conn)

    def count(self) -> int:
        with self.store.reading() as conn:
            return self.store.count(conn)

    def _refresh_registry(self, conn=None) -> None:
        def fold(c):
            # Only seq and record bytes: this runs on every open and whenever another writer moved on.
            for seq, record in self.store.stream_records(c, KEYS_STREAM, self._registry.last_seq):
                self._registry.apply(seq, decode_statement(decode_record(record).statement))
        try:
            if conn is not None:
                fold(conn)
            else:
                with self.store.reading() as c:
                    fold(c)
        except (msgspec.DecodeError, msgspec.ValidationError, ValidationError) as e:
            raise LedgerError(f"the key events in this ledger are damaged ({e}); run 'tilsyn verify'") from None
