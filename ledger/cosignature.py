"""C2SP tlog-cosignature ``cosignature/v1``: timestamped Ed25519 signatures over a checkpoint.

A cosignature is a signed-note signature line ``— <name> base64(key ID || timestamp || signature)``
where the key ID is ``SHA-256(name || 0x0A || 0x04 || public key)[:4]`` (signature type 0x04), the
timestamp is a big-endian u64 of POSIX seconds, and the Ed25519 signature covers::

    cosignature/v1\\n
    time <timestamp>\\n
    <the whole checkpoint body, with its final newline>

Witnesses cosign a checkpoint to say "as of this time, this is the largest consistent tree I have seen
for this log". The ledger also signs each of its own checkpoints this way with its log key: that line is
the *signed time* of the checkpoint (the type byte and the ``cosignature/v1`` header keep it apart from
the key's plain type 0x01 note signature, so one key serves both without ambiguity).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .checkpoint import (
    SIG_PREFIX,
    CheckpointError,
    _b64decode_strict,
    _check_key_name,
    _check_public_key,
    _check_text,
    _split_note,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "MAX_TIMESTAMP",
    "cosign",
    "cosigner_key_id",
    "cosigner_vkey",
    "find_cosignature",
    "parse_cosigner_vkey",
    "signed_message",
]

COSIGNATURE_TYPE = b"\x04"
MAX_TIMESTAMP = 2**63 - 1
_HEADER = "cosignature/v1\n"


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID ``SHA-256(name || 0x0A || 0x04 || public_key)[:4]``."""
    _check_key_name(name)
    pub = _check_public_key(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + COSIGNATURE_TYPE + pub).digest()[:4]


def cosigner_vkey(name: str, public_key: bytes) -> str:
    """The verifier key ``<name>+<hex key ID>+base64(0x04 || public key)`` of a cosigner."""
    kid = cosigner_key_id(name, public_key)
    return f"{name}+{kid.hex()}+{base64.b64encode(COSIGNATURE_TYPE + bytes(public_key)).decode('ascii')}"


def parse_cosigner_vkey(vkey: str) -> tuple[str, bytes]:
    """Parse a type 0x04 verifier key into ``(name, 32-byte Ed25519 public key)``, strictly."""
    if not isinstance(vkey, str):
        raise CheckpointError("verifier key must be text")
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("verifier key must be <name>+<hex id>+<base64 key>")
    name, kid_hex, key_b64 = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise CheckpointError("verifier key ID must be 8 lowercase hex digits")
    raw = _b64decode_strict(key_b64)
    if len(raw) != 33 or raw[:1] != COSIGNATURE_TYPE:
        raise CheckpointError("not a cosignature/v1 (type 0x04 Ed25519) verifier key")
    if cosigner_key_id(name, raw[1:]).hex() != kid_hex:
        raise CheckpointError("verifier key ID does not match its name and key")
    return name, raw[1:]


def signed_message(body: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header line, time line, then the checkpoint body."""
    _check_text(body)
    _check_timestamp(timestamp)
    return f"{_HEADER}time {timestamp}\n{body}".encode("utf-8")


def _check_timestamp(timestamp: int) -> None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp must be an integer in [0, 2^63-1], got {timestamp!r}")


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """Return the signature line ``— <name> base64(key ID || u64 timestamp || signature)\\n``."""
    pub = private_key.public_key().public_bytes_raw()
    kid = cosigner_key_id(name, pub)
    sig = private_key.sign(signed_message(body, timestamp))
    blob = kid + struct.pack(">Q", timestamp) + sig
    return f"{SIG_PREFIX}{name} {base64.b64encode(blob).decode('ascii')}\n"


def find_cosignature(note: str, name: str, public_key: bytes) -> int | None:
    """Verify the cosignature by ``(name, public_key)`` on ``note`` and return its timestamp.

    ``None`` if the note carries no line with this name and key ID (other keys are ignored, as the
    signed-note spec demands). Raises :class:`CheckpointError` if the note is malformed, or if a line
    with this name and key ID does not verify (the whole note is then to be rejected).
    """
    if not isinstance(note, str):
        raise CheckpointError("note must be text")
    text, sigs = _split_note(note)
    _check_text(text)
    kid = cosigner_key_id(name, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(_check_public_key(public_key))
    found: int | None = None
    for sig_name, blob in sigs:
        if sig_name != name or blob[:4] != kid:
            continue
        if len(blob) != 4 + 8 + 64:
            raise CheckpointError(f"bad cosignature by {name}: wrong length")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        if timestamp > MAX_TIMESTAMP:
            raise CheckpointError(f"bad cosignature by {name}: timestamp beyond 2^63-1")
        try:
            verifier.verify(blob[12:], signed_message(text, timestamp))
        except InvalidSignature as exc:
            raise CheckpointError(f"bad cosignature by {name}+{kid.hex()}") from exc
        found = timestamp if found is None else max(found, timestamp)
    return found
