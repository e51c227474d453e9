"""Identities as events: who may sign what, folded from the ``ledger/keys`` stream.

The genesis event registers the authority key with role ``admin`` and the ledger's own log key
(``log_key``: it signs checkpoints and StreamHeads events, under the pseudo-actor ``ledger`` with the
pseudo-role ``ledger`` that no person can hold); later events register keys, grant roles, revoke keys
and rotate the log key (the old log key vouches for the new one, which proves possession of itself).
The genesis also fixes the ledger id every statement must name. A :class:`KeyRegistry` folds these events in ``seq`` order, so the
question "was this key valid, and did it hold that role, at position N?" is answered by replaying up
to N — which is exactly what verification does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from .envelope import Statement
from .errors import AuthorizationError, ValidationError
from .keys import key_id as compute_key_id
from .names import check_name, skeleton

KEYS_STREAM = "ledger/keys"
GENESIS = "ledger.Genesis/1"
KEY_REGISTERED = "ledger.KeyRegistered/1"
ROLE_GRANTED = "ledger.RoleGranted/1"
KEY_REVOKED = "ledger.KeyRevoked/1"
LEDGER_KEY_ROTATED = "ledger.LedgerKeyRotated/1"
KEY_ROTATED = "ledger.KeyRotated/1"
KEY_EVENT_TYPES = frozenset({GENESIS, KEY_REGISTERED, ROLE_GRANTED, KEY_REVOKED, LEDGER_KEY_ROTATED, KEY_ROTATED})

ROLES = ("admin", "tilsynskonsulent", "tilsynsleder", "tilbudsleder")
"""The roles a key can hold. ``admin`` manages keys; the others are the domain's (see DOMAIN.md)."""

LOG_ACTOR = "ledger"
"""The pseudo-actor of the ledger's log key (a reserved name: no person can be registered as it)."""
LOG_ROLE = "ledger"
"""The pseudo-role only the log key holds: it alone signs StreamHeads events and rotates itself."""

POSSESSION_EXTRA = ("x25519_public_key",)
"""Optional key-registration fields a proof of possession covers (the reader's X25519 key, see readers)."""

POSSESSION_CONTEXT = b"tilsyn-key-possession/1\n"
"""Prefix of the bytes a new key signs to prove it is held by whoever presents it (see possession_bytes)."""


def possession_bytes(ledger_id: str, name: str, public_key_b64: str, extra: dict[str, Any] | None = None) -> bytes:
    """What a new key signs as proof of possession: the context line, then canonical JSON of the ledger
    id, the owner's name, its public key and any extra fields the request carries (sorted keys)."""
    from . import canonical

    body = {"ledger": ledger_id, "name": name, "public_key": public_key_b64, **(extra or {})}
    return POSSESSION_CONTEXT + canonical.encode(canonical.normalise(body))


@dataclass
class KeyInfo:
    """One registered key and what it may do."""

    key_id: str
    actor: str
    public_key: bytes
    roles: set[str]
    registered_seq: int
    revoked_seq: int | None = None
    revoke_reason: str | None = None
    granted_seqs: dict[str, int] = field(default_factory=dict)
    scopes: dict[str, set[str]] = field(default_factory=dict)
    """Role → the tilbud it is limited to (a role not listed here holds authority-wide)."""
    x25519_public_key: bytes | None = None
    """The person's X25519 key for reading sealed personal data, if their registration carried one."""

    def copy(self) -> "KeyInfo":
        """An independent copy (roles, grants and scopes are mutable)."""
        return KeyInfo(self.key_id, self.actor, self.public_key, set(self.roles), self.registered_seq,
                       self.revoked_seq, self.revoke_reason, dict(self.granted_seqs),
                       {r: set(t) for r, t in self.scopes.items()}, self.x25519_public_key)

    def roles_for(self, statement: Statement) -> set[str]:
        """The roles that count for ``statement``: the authority-wide ones, and each scoped role whose
        tilbud include every tilbud the statement is about (none, if it is about no tilbud)."""
        if statement.type == KEY_ROTATED:
            return set(self.roles)  # a key hands itself over, whatever its roles reach
        about = statement_tilbud(statement)
        return {r for r in self.roles if r not in self.scopes or (about and about <= self.scopes[r])}

    def roles_at(self, seq: int) -> set[str]:
        """The roles this key held when the event at ``seq`` was appended (empty if not yet registered)."""
        if seq <= self.registered_seq and self.registered_seq != 1:
            return set()
        return {r for r in self.roles if self.granted_seqs.get(r, self.registered_seq) < seq or seq == 1}

    def valid_at(self, seq: int) -> bool:
        """Registered before ``seq`` (or at it, for the genesis key) and not revoked before it."""
        registered = self.registered_seq < seq or self.registered_seq == seq == 1
        return registered and (self.revoked_seq is None or self.revoked_seq > seq)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id, "actor": self.actor,
            "public_key": base64.b64encode(self.public_key).decode(),
            "roles": sorted(self.roles), "registered_seq": self.registered_seq,
            "revoked_seq": self.revoked_seq, "revoke_reason": self.revoke_reason,
            "tilbud": {r: sorted(t) for r, t in sorted(self.scopes.items())},
            "x25519_public_key": base64.b64encode(self.x25519_public_key).decode() if self.x25519_public_key else None,
        }


def _public_key(payload: dict[str, Any]) -> bytes:
    try:
        raw = base64.b64decode(payload["public_key"], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise ValidationError("key event payload needs public_key as base64") from None
    if len(raw) != 32:
        raise ValidationError("public_key must be 32 bytes of Ed25519 public key")
    return raw


_MEMBERS = {  # event type → (required payload members, optional ones): nothing else has a meaning
    GENESIS: ({"authority", "key_id", "ledger_id", "log_key", "origin", "public_key", "roles"}, set()),
    KEY_REGISTERED: ({"key_id", "name", "proof", "public_key", "roles"}, {"tilbud", "x25519_public_key"}),
    ROLE_GRANTED: ({"key_id", "name", "roles"}, {"tilbud"}),
    KEY_REVOKED: ({"key_id", "name", "reason"}, set()),
    KEY_ROTATED: ({"key_id", "name", "previous_key_id", "proof", "public_key"}, {"x25519_public_key"}),
    LEDGER_KEY_ROTATED: ({"key_id", "previous_key_id", "proof", "public_key"}, set()),
}


def _check_members(type: str, payload: dict[str, Any]) -> None:
    """One meaning: a key event's payload has exactly its members (an older reader must not skip a scope)."""
    required, optional = _MEMBERS[type]
    missing, unknown = required - set(payload), set(payload) - required - optional
    if missing or unknown:
        raise ValidationError(f"the {type} payload " + (f"lacks {', '.join(sorted(missing))}" if missing
                                                        else f"has unknown members {', '.join(sorted(unknown))}"))
    if type == GENESIS and (not isinstance(payload["log_key"], dict) or set(payload["log_key"]) != {"key_id", "public_key"}):
        raise ValidationError("the genesis log_key must be an object of exactly key_id and public_key")


def _roles(payload: dict[str, Any]) -> set[str]:
    roles = payload.get("roles")
    if not isinstance(roles, list) or not roles:
        raise ValidationError("key event payload needs a non-empty list of roles")
    if not all(isinstance(r, str) for r in roles) or roles != sorted(set(roles)):
        raise ValidationError("the roles of a key event must be sorted, without repeats")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValidationError(f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}")
    return set(roles)


TILBUD_STREAM_KIND = "tilbud/"
_TILBUD_ID = re.compile(r"^[^\s/]{1,100}$")


def statement_tilbud(statement: Statement) -> set[str]:
    """The tilbud a statement is about: its stream's id for a ``tilbud/<id>`` stream, and the payload's
    ``tilbud`` if it names one (a scoped role counts only if it covers all of them)."""
    about = set()
    if statement.stream.startswith(TILBUD_STREAM_KIND):
        about.add(statement.stream[len(TILBUD_STREAM_KIND):])
    named = statement.payload.get("tilbud") if isinstance(statement.payload, dict) else None
    if isinstance(named, str):
        about.add(named)
    return about


def _x25519(payload: dict[str, Any]) -> bytes | None:
    """The X25519 reader key a registration or rotation carries (checked as 32 bytes of base64), if any."""
    return _public_key({"public_key": payload["x25519_public_key"]}) if "x25519_public_key" in payload else None


def _same_owner(info: KeyInfo, payload: dict[str, Any]) -> None:
    if payload.get("name") != info.actor:
        raise ValidationError(f"the event names {payload.get('name')!r}, but key {info.key_id} belongs to {info.actor!r}")


def _scope(payload: dict[str, Any], roles: set[str]) -> set[str] | None:
    """The tilbud a key event limits its roles to (``None``: authority-wide)."""
    if "tilbud" not in payload:
        return None
    scope = payload["tilbud"]
    if (not isinstance(scope, list) or not scope or not all(isinstance(t, str) and _TILBUD_ID.match(t) for t in scope)
            or scope != sorted(set(scope))):
        raise ValidationError("tilbud must be a non-empty, sorted list of distinct tilbud ids")
    if "admin" in roles:
        raise ValidationError("the admin role cannot be limited to tilbud (key management is authority-wide)")
    return set(scope)


class KeyRegistry:
    """The state of every key after folding the key events up to ``last_seq``."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyInfo] = {}
        self.last_seq = 0
        self.authority: str | None = None
        self.origin: str | None = None
        self.ledger_id: str | None = None
        self.genesis_key_id: str | None = None
        self.log_key_ids: list[str] = []  # the log keys, oldest first (genesis, then each rotation)
        # False only while re-folding key events this machine verified before (Ledger._fold_keys): their
        # names and proofs were checked then, and the confusables table costs ~0.1 s to load.
        self.recheck = True

    def copy(self) -> "KeyRegistry":
        other = KeyRegistry()
        other.keys = {k: v.copy() for k, v in self.keys.items()}
        other.last_seq, other.authority, other.origin = self.last_seq, self.authority, self.origin
        other.ledger_id, other.genesis_key_id = self.ledger_id, self.genesis_key_id
        other.log_key_ids = list(self.log_key_ids)
        other.recheck = self.recheck
        return other

    # -- queries -------------------------------------------------------------------------------
    def active_key(self, actor: str) -> KeyInfo | None:
        """The newest unrevoked key of ``actor``, if any."""
        live = [k for k in self.keys.values() if k.actor == actor and k.revoked_seq is None]
        return max(live, key=lambda k: k.registered_seq) if live else None

    def actors(self) -> set[str]:
        return {k.actor for k in self.keys.values() if k.actor != LOG_ACTOR}

    def log_keys(self) -> list[KeyInfo]:
        """Every log key the ledger had, oldest first (the current one last)."""
        return [self.keys[k] for k in self.log_key_ids]

    def log_key(self) -> KeyInfo | None:
        """The current log key (``None`` before the genesis event)."""
        return self.keys[self.log_key_ids[-1]] if self.log_key_ids else None

    def log_key_at(self, size: int) -> KeyInfo | None:
        """The log key that may sign a checkpoint of ``size`` records (valid at seq ``size``)."""
        for info in reversed(self.log_keys()):
            if info.valid_at(size):
                return info
        return None

    def check_ledger(self, statement: Statement) -> None:
        """Refuse a statement signed for another ledger (its signed ``ledger`` is not this one's id)."""
        if self.ledger_id is not None and statement.ledger != self.ledger_id:
            raise AuthorizationError(
                f"the statement was signed for ledger {statement.ledger!r}, not for this ledger "
                f"({self.ledger_id}): a statement of another ledger cannot be replayed here")

    def authorize(self, statement: Statement, required_roles: frozenset[str]) -> KeyInfo:
        """Check that the statement's key may sign it now; return the key or raise."""
        self.check_ledger(statement)
        info = self.keys.get(statement.key_id)
        if info is None:
            raise AuthorizationError(f"key {statement.key_id} is not registered in this ledger")
        if info.actor != statement.actor:
            raise AuthorizationError(
                f"key {statement.key_id} belongs to {info.actor!r}, not to {statement.actor!r}")
        if info.revoked_seq is not None:
            raise AuthorizationError(
                f"key {statement.key_id} of {info.actor!r} was revoked at seq {info.revoked_seq}"
                + (f" ({info.revoke_reason})" if info.revoke_reason else ""))
        if not required_roles:  # an event type whose rules name no role may be signed by nobody
            raise AuthorizationError(f"the rules in force let nobody sign {statement.type} (no role may)")
        if not (info.roles_for(statement) & required_roles):
            scoped = sorted(r for r in info.roles & required_roles if r in info.scopes)
            if scoped:
                about = sorted(statement_tilbud(statement))
                raise AuthorizationError(
                    f"{info.actor!r} holds {scoped[0]} only for tilbud {', '.join(sorted(info.scopes[scoped[0]]))}; "
                    f"this {statement.type} is about {', '.join(about) if about else 'no tilbud'}")
            raise AuthorizationError(
                f"{info.actor!r} lacks the role for {statement.type} "
                f"(needs {' or '.join(sorted(required_roles))}; has {', '.join(sorted(info.roles)) or 'none'})")
        return info

    # -- folding -------------------------------------------------------------------------------
    def apply(self, seq: int, statement: Statement) -> None:
        """Fold one key event (other events are ignored). Raises ValidationError if it is malformed."""
        if statement.type not in KEY_EVENT_TYPES:
            return
        if statement.stream != KEYS_STREAM:
            # A verifier that folds key events by type alone would apply it: one meaning, so refused.
            raise ValidationError(f"a {statement.type} event belongs on {KEYS_STREAM}, not on {statement.stream!r}")
        p = statement.payload
        _check_members(statement.type, p)
        if statement.type == GENESIS:
            if self.keys:
                raise ValidationError("a second genesis event")
            pub = _public_key(p)
            kid = compute_key_id(pub)
            if kid != p.get("key_id") or kid != statement.key_id:
                raise ValidationError("genesis key_id does not match its public key")
            ledger_id = p.get("ledger_id")
            if not isinstance(ledger_id, str) or statement.ledger != ledger_id:
                raise ValidationError("the genesis statement does not name the ledger id of its payload")
            log = p.get("log_key")
            if not isinstance(log, dict):
                raise ValidationError("the genesis event needs the ledger's log key (log_key)")
            log_pub = _public_key(log)
            log_kid = compute_key_id(log_pub)
            if log_kid != log.get("key_id") or log_kid == kid:
                raise ValidationError("the genesis log_key's key_id does not match its public key (or is the "
                                      "authority's own key)")
            if statement.actor == LOG_ACTOR:
                raise ValidationError(f"the authority cannot be named {LOG_ACTOR!r} (the log key's pseudo-actor)")
            self.keys[kid] = KeyInfo(kid, statement.actor, pub, _roles(p), seq)
            self.keys[log_kid] = KeyInfo(log_kid, LOG_ACTOR, log_pub, {LOG_ROLE}, seq)
            self.authority, self.origin, self.genesis_key_id = statement.actor, p.get("origin"), kid
            self.ledger_id, self.log_key_ids = ledger_id, [log_kid]
        elif statement.type == LEDGER_KEY_ROTATED:
            self._rotate_log_key(seq, statement)
        elif statement.type == KEY_REGISTERED:
            name = p.get("name")
            if not isinstance(name, str) or not name:
                raise ValidationError("key registration needs the owner's name")
            if name == LOG_ACTOR:
                raise ValidationError(f"the name {LOG_ACTOR!r} is reserved for the ledger's log key")
            if self.recheck:
                check_name(name, {skeleton(k.actor): k.actor for k in self.keys.values()})
            live = self.active_key(name)
            if live is not None:
                raise ValidationError(f"{name!r} has an active key already ({live.key_id}); a second key only as a "
                                      "declared rotation ('tilsyn keys rotate')")
            if "proof" not in p:
                raise ValidationError("a key registration needs the new key's proof of possession")
            pub, kid = self._new_key(p, name, recheck=self.recheck)
            roles = _roles(p)
            scope = _scope(p, roles)
            self.keys[kid] = KeyInfo(kid, name, pub, roles, seq,
                                     scopes={r: set(scope) for r in roles} if scope is not None else {},
                                     x25519_public_key=_x25519(p))
        elif statement.type == ROLE_GRANTED:
            info = self.keys.get(p.get("key_id", ""))
            if info is None:
                raise ValidationError(f"role granted to unknown key {p.get('key_id')!r}")
            if info.actor == LOG_ACTOR:
                raise ValidationError("the ledger's log key holds no role but its own")
            _same_owner(info, p)
            roles = _roles(p)
            scope = _scope(p, roles)
            for role in roles:
                if scope is not None and role in info.roles and role not in info.scopes:
                    raise ValidationError(f"{info.actor!r} holds {role} authority-wide already")
                if scope is None:
                    info.scopes.pop(role, None)  # widened to the whole authority
                elif role not in info.roles or role in info.scopes:
                    info.scopes.setdefault(role, set()).update(scope)
                if role not in info.roles:
                    info.granted_seqs[role] = seq
                info.roles.add(role)
        elif statement.type == KEY_REVOKED:
            info = self.keys.get(p.get("key_id", ""))
            if info is None:
                raise ValidationError(f"revocation of unknown key {p.get('key_id')!r}")
            if info.revoked_seq is not None:
                raise ValidationError(f"key {info.key_id} is revoked already")
            _same_owner(info, p)
            if info.actor == LOG_ACTOR:
                raise ValidationError("the ledger's log key cannot be revoked, only rotated to a successor "
                                      "('tilsyn keys rotate-ledger')")
            if self._is_admin(info) and not any(self._is_admin(k) for k in self.keys.values()
                                                if k is not info and k.revoked_seq is None):
                raise ValidationError(f"{info.actor!r} holds the last active admin key: register another admin "
                                      "first, or rotate the key ('tilsyn keys rotate')")
            info.revoked_seq, info.revoke_reason = seq, p.get("reason")
        elif statement.type == KEY_ROTATED:
            self._rotate_key(seq, statement)
        self.last_seq = seq

    def _new_key(self, p: dict[str, Any], name: str, recheck: bool = True) -> tuple[bytes, str]:
        """The new key of a registration or rotation: its public key and id, checked, unknown so far, and
        (unless re-folding what was verified before) proving possession for ``name`` on this ledger."""
        pub = _public_key(p)
        kid = compute_key_id(pub)
        if kid != p.get("key_id"):
            raise ValidationError("the new key's key_id does not match its public key")
        if kid in self.keys:
            raise ValidationError(f"key {kid} is registered already")
        for extra in POSSESSION_EXTRA:
            if extra in p:
                _public_key({"public_key": p[extra]})  # 32 bytes of base64, like every public key
        if recheck:
            check_possession(self.ledger_id or "", name, p, pub, POSSESSION_EXTRA)
        return pub, kid

    @staticmethod
    def _is_admin(info: KeyInfo) -> bool:
        return "admin" in info.roles and "admin" not in info.scopes

    def _rotate_key(self, seq: int, statement: Statement) -> None:
        """A person's key hands over to their new one: signed by the old, the new proving possession.
        Roles and scopes carry over; the old key is revoked at this seq."""
        p = statement.payload
        old = self.keys.get(p.get("previous_key_id", ""))
        if old is None or old.key_id != statement.key_id or old.actor == LOG_ACTOR or p.get("name") != old.actor:
            raise ValidationError("a key rotation must be signed by the key it replaces (previous_key_id), for its "
                                  "owner's name")
        if old.revoked_seq is not None:
            raise ValidationError(f"key {old.key_id} is revoked already")
        pub, kid = self._new_key(p, old.actor)
        old.revoked_seq, old.revoke_reason = seq, f"rotated to {kid}"
        self.keys[kid] = KeyInfo(kid, old.actor, pub, set(old.roles), seq,
                                 scopes={r: set(t) for r, t in old.scopes.items()},
                                 x25519_public_key=_x25519(p) or old.x25519_public_key)

    def _rotate_log_key(self, seq: int, statement: Statement) -> None:
        """The old log key (the signer) hands over to a new one, which proves possession of itself."""
        p = statement.payload
        current = self.log_key()
        if current is None or statement.key_id != current.key_id or p.get("previous_key_id") != current.key_id:
            raise ValidationError("a ledger key rotation must be signed by the current log key and name it as "
                                  "previous_key_id")
        pub, kid = self._new_key(p, LOG_ACTOR)
        current.revoked_seq, current.revoke_reason = seq, f"rotated to {kid}"
        self.keys[kid] = KeyInfo(kid, LOG_ACTOR, pub, {LOG_ROLE}, seq)
        self.log_key_ids.append(kid)


def check_possession(ledger_id: str, name: str, payload: dict[str, Any], public_key: bytes,
                     extra_fields: tuple[str, ...] = ()) -> None:
    """Raise ValidationError unless ``payload['proof']`` is the new key's signature over its
    :func:`possession_bytes` (the ledger, the name, the key and the ``extra_fields`` present)."""
    from .keys import verify

    proof = payload.get("proof")
    try:
        sig = base64.b64decode(proof, validate=True) if isinstance(proof, str) else b""
    except binascii.Error:
        sig = b""
    extra = {f: payload[f] for f in extra_fields if f in payload}
    if len(sig) != 64 or not verify(public_key, sig, possession_bytes(ledger_id, name, payload["public_key"], extra)):
        raise ValidationError(f"the proof of possession of key {compute_key_id(public_key)} does not verify "
                              f"(it must be signed by that key, for this ledger and the name {name!r})")
