"""Who may read personal data, as signed events: reader keys and the reader group's key epochs.

Personal fields are sealed under per-subject keys (personal.py). Those keys are wrapped under the key of
the *reader group*, and the group key is wrapped to the X25519 public key of each person whose role lets
them read (:data:`READER_ROLES`). So opening a sealed field needs a permitted reader's own private key;
the operator's KEK and the database are not enough.

Two event types in the stream :data:`READERS_STREAM`, both signed — a database-only insider can neither
substitute a person's reader key nor a group key:

- :data:`READER_KEY` binds a person's X25519 public key to their Ed25519 key. It is signed *by that
  Ed25519 key itself* (``statement.key_id == payload.key_id``), so no admin can put in a key of their own.
- :data:`GROUP_KEY` starts a new epoch of the group key, wrapped (HPKE, RFC 9180) to every permitted
  reader, and signed by one of them. Its members must be exactly the permitted readers at its position;
  an epoch that is not is *unusable* (never sealed under). ``previous`` carries the previous epoch's key
  under the new one, so a reader who joins later reads what was sealed before; a reader who is removed
  (revoked, or no longer in a reading role) is not a member of the next epoch, and every subject key
  made after it — data sealed after the removal — is out of their reach.

This module folds the events; readerkeys.py does the cryptography.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterable

import msgspec

READERS_STREAM = "ledger/readers"
READER_KEY = "ledger.ReaderKeyRegistered/1"
GROUP_KEY = "ledger.ReaderGroupKey/1"
READER_ROLES = frozenset({"tilsynskonsulent", "tilsynsleder"})
"""Roles that may read personal data in clear (*tilsynskonsulent*, *tilsynsleder*)."""


class ReaderKeyPayload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """*Læsenøgle registreret*: a person's X25519 public key, signed by their own Ed25519 key."""

    key_id: str
    x25519_public_key: str


class GroupMember(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The group key of one epoch, HPKE-sealed to one reader's X25519 key."""

    key_id: str
    wrapped: str


class GroupKeyPayload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """*Læsergruppens nøgle*: a new epoch of the reader group's key, wrapped to each permitted reader."""

    epoch: int
    key_check: str
    members: list[GroupMember]
    previous: str | None = None


def _b64(text: str, what: str, length: int | None = None) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError):
        return None
    return raw if length is None or len(raw) == length else None


@dataclass
class Epoch:
    """One epoch of the reader group key, as its signed event holds it."""

    epoch: int
    seq: int
    signer: str
    key_check: str
    members: dict[str, bytes]  # Ed25519 key id -> HPKE ciphertext of the group key
    member_x25519: dict[str, bytes]  # the X25519 key each member's wrap was made for
    previous: bytes | None
    problem: str | None = None  # why this epoch is unusable (never sealed under), if it is


@dataclass
class ReaderState:
    """The folded ``ledger/readers`` stream: reader keys and epochs, and what is wrong with any of them."""

    reader_keys: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # key id -> (X25519 public, seq)
    epochs: list[Epoch] = field(default_factory=list)
    version: int = 0  # stream version folded up to

    def current(self) -> Epoch | None:
        return self.epochs[-1] if self.epochs else None

    def epoch(self, number: int) -> Epoch | None:
        return self.epochs[number - 1] if 0 < number <= len(self.epochs) else None


def permitted(registry, state: ReaderState, seq: int | None = None) -> dict[str, bytes]:
    """The readers the group must consist of at ``seq`` (None: now): key id -> X25519 public key.

    A reader is a key valid then, holding a reading role then (in any tilbud scope: a scoped
    tilsynskonsulent still reads), with a reader key registered before.
    """
    out = {}
    for kid, info in registry.keys.items():
        reader = state.reader_keys.get(kid)
        enrolled = getattr(info, "x25519_public_key", None)  # from a proof-covered enrollment request, if any
        if reader is None and enrolled:
            reader = (enrolled, info.registered_seq)
        if reader is None or (seq is not None and reader[1] >= seq):
            continue
        if seq is None:
            ok = info.revoked_seq is None and bool(info.roles & READER_ROLES)
        else:
            ok = info.valid_at(seq) and bool(info.roles_at(seq) & READER_ROLES)
        if ok:
            out[kid] = reader[0]
    return out


def fold(events: Iterable, registry, state: ReaderState | None = None) -> ReaderState:
    """Fold verified events of :data:`READERS_STREAM` (signatures and roles were checked on append)."""
    state = state or ReaderState()
    for e in events:
        s = e.statement
        state.version = s.stream_version
        if s.type == READER_KEY:
            pub = _b64(s.payload.get("x25519_public_key"), "x25519_public_key", 32)
            if s.payload.get("key_id") == s.key_id and pub is not None:
                state.reader_keys[s.key_id] = (pub, e.seq)  # a newer one replaces it (a reader key rotation)
        elif s.type == GROUP_KEY:
            state.epochs.append(_epoch(e, registry, state))
    return state


def _epoch(e, registry, state: ReaderState) -> Epoch:
    p, s = e.statement.payload, e.statement
    members: dict[str, bytes] = {}
    for m in p.get("members") or ():
        raw = _b64(m.get("wrapped"), "wrapped")
        if raw is not None:
            members[m.get("key_id")] = raw
    want = permitted(registry, state, e.seq)
    previous = _b64(p["previous"], "previous") if p.get("previous") else None
    epoch = Epoch(int(p.get("epoch", 0)), e.seq, s.key_id, str(p.get("key_check")), members,
                  {k: want[k] for k in members if k in want}, previous)
    if epoch.epoch != len(state.epochs) + 1:
        epoch.problem = f"epoch {epoch.epoch} follows epoch {len(state.epochs)}"
    elif set(members) != set(want):
        extra, missing = sorted(set(members) - set(want)), sorted(set(want) - set(members))
        epoch.problem = ("its members are not the permitted readers"
                         + (f" (not permitted: {', '.join(extra)})" if extra else "")
                         + (f" (left out: {', '.join(missing)})" if missing else ""))
    elif s.key_id not in want:
        epoch.problem = f"it was signed by {s.actor!r}, who is not a permitted reader"
    return epoch
