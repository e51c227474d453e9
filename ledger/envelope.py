"""The two layers of an event: the statement an actor signs, and the record the ledger seals.

A *statement* says who asserts what, about which stream, and when it happened in the world. It has
no global position, so it can be signed before the write lock is taken (or on the actor's own
machine, or many in parallel). A *record* gives a statement its place: ``seq`` (1, 2, 3 … without
gaps), ``recorded_at`` (ledger time, never decreasing), ``prev`` (the leaf hash of the previous
record), the exact statement bytes and the actor's signature over them.

Both are encoded once, canonically (see :mod:`canonical`), and stored as bytes. The leaf hash of a
record is the RFC 6962 leaf hash ``SHA-256(0x00 || record bytes)``; ``prev`` chains the leaves.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from . import canonical, timefmt
from .errors import ValidationError
from .origin import WHITE_SPACE

GENESIS_PREV = "0" * 64
"""``prev`` of the first record: there is nothing before it."""

# \Z, not $: in Python "$" also matches before a final "\n" ("tilbud/T-1\n" would pass). Whitespace is
# Unicode White_Space exactly; an actor holds no line break (nor tab). docs/evidence-bundle.md §3 says so.
_WS = re.escape("".join(sorted(WHITE_SPACE)))
_BREAKS = "\t\n\v\f\r\x85\u2028\u2029"
_TYPE = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*\.[A-Z][A-Za-z0-9]*/[1-9][0-9]*\Z")
_STREAM = re.compile(rf"^[a-z][a-z0-9_-]*/[^{_WS}]{{1,200}}\Z")
_ACTOR = re.compile(rf"^[^{_WS}/][^{_BREAKS}]{{0,99}}\Z")
LEDGER_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
"""A ledger id: fixed at init (32 lowercase hex digits, 128 random bits), named by every statement."""


class Statement(msgspec.Struct, frozen=True):
    """What an actor asserts and signs. Field order is the canonical order."""

    stream: str
    stream_version: int
    type: str
    occurred_at: str
    actor: str
    key_id: str
    ledger: str
    payload: dict[str, Any]


class Record(msgspec.Struct, frozen=True):
    """Where the ledger put a statement. ``statement`` and ``signature`` travel as base64 in JSON."""

    seq: int
    recorded_at: str
    prev: str
    statement: bytes
    signature: bytes


_statement_decoder = msgspec.json.Decoder(Statement)
_record_decoder = msgspec.json.Decoder(Record)


def leaf_hash(record_bytes: bytes) -> bytes:
    """RFC 6962 leaf hash of a record: SHA-256(0x00 || bytes)."""
    return hashlib.sha256(b"\x00" + record_bytes).digest()


def make_statement(
    *, stream: str, stream_version: int, type: str, occurred_at: str, actor: str, key_id: str,
    ledger: str, payload: dict[str, Any],
) -> Statement:
    """Build a statement, checking every field and normalising text to NFC.

    ``ledger`` is the id of the ledger the statement is meant for (its genesis ``ledger_id``): signed
    with the rest, so a statement made for one ledger is refused by every other.
    """
    stream, type, actor = (canonical.normalise(v, n) for v, n in ((stream, "stream"), (type, "type"), (actor, "actor")))
    if not isinstance(stream, str) or not _STREAM.match(stream):
        raise ValidationError(f"stream {stream!r} is not of the form 'kind/id' (lowercase kind, no spaces)")
    if isinstance(stream_version, bool) or not isinstance(stream_version, int) or stream_version < 1:
        raise ValidationError(f"stream_version must be a whole number from 1, not {stream_version!r}")
    if not isinstance(type, str) or not _TYPE.match(type):
        raise ValidationError(f"event type {type!r} is not of the form 'namespace.Name/version'")
    if not timefmt.is_canonical(occurred_at):
        raise ValidationError(f"occurred_at {occurred_at!r} is not a canonical RFC 3339 UTC timestamp")
    if not isinstance(actor, str) or not _ACTOR.match(actor):
        raise ValidationError(f"actor {actor!r} is not a valid name")
    if not isinstance(ledger, str) or not LEDGER_ID.match(ledger):
        raise ValidationError(f"ledger id {ledger!r} is not 1–64 ASCII letters, digits, '.', '_' or '-'")
    if not isinstance(payload, dict):
        raise ValidationError("payload must be a JSON object")
    return Statement(stream, stream_version, type, occurred_at, actor, key_id, ledger, canonical.normalise(payload))


def encode_statement(statement: Statement) -> bytes:
    """The canonical bytes of a statement: exactly what gets signed."""
    return canonical.encode(statement)


def decode_statement(data: bytes) -> Statement:
    """Decode stored statement bytes (raises ``msgspec.DecodeError`` / ``ValidationError`` on garbage)."""
    try:
        return _statement_decoder.decode(data)
    except UnicodeDecodeError as e:  # msgspec lets invalid UTF-8 through as this, not as DecodeError
        raise msgspec.DecodeError(f"invalid UTF-8 ({e})") from None


def encode_record(record: Record) -> bytes:
    """The canonical bytes of a record: exactly what gets hashed into the chain and the Merkle tree."""
    return canonical.encode(record)


def decode_record(data: bytes) -> Record:
    """Decode stored record bytes (raises ``msgspec.DecodeError`` / ``ValidationError`` on garbage)."""
    try:
        return _record_decoder.decode(data)
    except UnicodeDecodeError as e:  # msgspec lets invalid UTF-8 through as this, not as DecodeError
        raise msgspec.DecodeError(f"invalid UTF-8 ({e})") from None
