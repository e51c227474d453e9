"""C2SP signed notes (c2sp.org/signed-note) and tlog checkpoints (c2sp.org/tlog-checkpoint).

A *checkpoint* is the text body committing to a Merkle tree head::

    <origin>\\n<tree size, decimal>\\n<base64 root hash>\\n[<extension line>\\n ...]

A *signed note* is a text ending in a newline, then a blank line, then one or
more signature lines ``"\\u2014 <key name> <base64(key ID || signature)>\\n"``.
The signature covers the text including its final newline but not the blank
line. We sign with Ed25519 (signature type 0x01), whose 4-byte key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``.

Parsing is strict on purpose: a checkpoint is a security artefact, and any
leniency (leading zeros, non-canonical base64, stray whitespace) would let two
different byte strings denote the same tree head, or let a malformed note be
read differently by different verifiers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "checkpoint_body",
    "key_hash",
    "note_key_name",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verifier_key",
]

ED25519_TYPE = b"\x01"
SIG_PREFIX = "\u2014 "  # em dash, space
HASH_SIZE = 32
MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 throughout the tlog ecosystem
MAX_SIGNATURES = 100  # the spec requires accepting >= 16; Go's note package caps at 100

# ASCII control characters other than newline are forbidden in notes.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
# ASCII decimal only (str.isdecimal would accept other scripts' digits).
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, or its signature does not verify."""


class Checkpoint(msgspec.Struct, frozen=True):
    """A parsed checkpoint body: a log's tree head at one size."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """Return the canonical checkpoint text (see :func:`checkpoint_body`)."""
        return checkpoint_body(self.origin, self.size, self.root, self.extensions)


def note_key_name(origin: str) -> str:
    """The signed-note key name for ``origin``: the origin with whitespace and ``+`` replaced by ``_``.

    C2SP key names may contain neither; the default origin (``tilsyn-ledger/<uuid>``) needs no change.
    """
    return "".join("_" if ch.isspace() or ch == "+" else ch for ch in origin)


def _b64decode_strict(text: str) -> bytes:
    """Decode standard padded base64, rejecting anything non-canonical."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"invalid base64 {text!r}") from exc
    # b64decode tolerates non-zero padding bits; round-tripping pins one
    # encoding per byte string.
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"non-canonical base64 {text!r}")
    return raw


def _check_line(what: str, line: str) -> None:
    if not line:
        raise CheckpointError(f"{what} must be non-empty")
    if "\n" in line or _CONTROL.search(line):
        raise CheckpointError(f"{what} must not contain newlines or control characters")


def _check_key_name(name: str) -> None:
    # Names MUST be non-empty and contain no Unicode spaces and no '+'.
    if not isinstance(name, str) or not name:
        raise CheckpointError("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise CheckpointError(f"invalid key name {name!r}: no spaces, '+' or control characters")


def _check_public_key(public_key: bytes) -> bytes:
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != 32:
        raise CheckpointError("an Ed25519 public key is 32 bytes")
    return bytes(public_key)


# --------------------------------------------------------------------------
# Checkpoint bodies
# --------------------------------------------------------------------------


def checkpoint_body(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    """Return the C2SP tlog-checkpoint text ``origin\\nsize\\nbase64(root)\\n`` + extensions.

    Raises :class:`CheckpointError` if the result would not parse back
    (empty or multi-line origin/extension, negative size, root not 32 bytes).
    """
    _check_line("origin", origin)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_TREE_SIZE:
        raise CheckpointError(f"tree size must be an integer in [0, 2^64-1], got {size!r}")
    if not isinstance(root, (bytes, bytearray)) or len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash must be {HASH_SIZE} bytes")
    if isinstance(extensions, str):
        raise CheckpointError("extensions must be a sequence of lines, not a string")
    for ext in extensions:
        _check_line("extension line", ext)
    lines = [origin, str(size), base64.b64encode(bytes(root)).decode("ascii"), *extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body strictly, raising :class:`CheckpointError` on any defect.

    Rejected: missing final newline, fewer than three lines, empty lines,
    control characters, a size that is not canonical ASCII decimal (no sign,
    no leading zeros, at most 2^64-1), a root that is not canonical base64 of
    exactly 32 bytes.
    """
    if not isinstance(body, str):
        raise CheckpointError("checkpoint body must be a str")
    if not body.endswith("\n"):
        raise CheckpointError("checkpoint body must end with a newline")
    if _CONTROL.search(body):
        raise CheckpointError("checkpoint body contains control characters")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint needs origin, size and root lines, got {len(lines)} line(s)")
    for number, line in enumerate(lines, 1):
        if not line:
            raise CheckpointError(f"checkpoint line {number} is empty")
    origin, size_text, root_text, *extensions = lines
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(f"tree size {size_text!r} is not a canonical decimal number")
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {size_text} exceeds 2^64-1")
    root = _b64decode_strict(root_text)
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash is {len(root)} bytes, expected {HASH_SIZE}")
    return Checkpoint(origin, size, root, tuple(extensions))


# --------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------


def key_hash(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte C2SP key ID ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]``."""
    _check_key_name(name)
    pub = _check_public_key(public_key)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + pub).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key text ``<name>+<hex key ID>+<base64(0x01 || public_key)>``."""
    kid = key_hash(name, public_key)
    return f"{name}+{kid.hex()}+{base64.b64encode(ED25519_TYPE + bytes(public_key)).decode('ascii')}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """Parse an Ed25519 verifier key, returning ``(name, 32-byte public key)``.

    Raises :class:`CheckpointError` if it is malformed, not Ed25519, or its
    key ID does not match the name and key.
    """
    # The name has no '+', but the base64 part may: split at most twice.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("verifier key must be <name>+<hex id>+<base64 key>")
    name, kid_hex, key_b64 = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise CheckpointError("verifier key ID must be 8 lowercase hex digits")
    raw = _b64decode_strict(key_b64)
    if len(raw) != 33 or raw[:1] != ED25519_TYPE:
        raise CheckpointError("verifier key is not an Ed25519 (type 0x01) key")
    if key_hash(name, raw[1:]).hex() != kid_hex:
        raise CheckpointError("verifier key ID does not match its name and key")
    return name, raw[1:]


# --------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise CheckpointError("note text must be a str")
    if not text.endswith("\n"):
        raise CheckpointError("note text must be non-empty and end with a newline")
    if _CONTROL.search(text):
        raise CheckpointError("note text contains control characters other than newline")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointError("note text is not valid UTF-8") from exc


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``body`` and return the signed note ``body + "\\n" + "— <name> <sig>\\n"``.

    The signature is Ed25519 over the UTF-8 bytes of ``body`` (which must end
    with a newline); ``<sig>`` is ``base64(key ID || signature)``.
    """
    _check_text(body)
    pub = private_key.public_key().public_bytes_raw()
    kid = key_hash(name, pub)
    sig = private_key.sign(body.encode("utf-8"))
    return f"{body}\n{SIG_PREFIX}{name} {base64.b64encode(kid + sig).decode('ascii')}\n"


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Split a note into its text and (name, key ID || signature) pairs, strictly."""
    if _CONTROL.search(note):
        raise CheckpointError("malformed note: control characters other than newline")
    # The text ends at the *last* blank line: the text may contain blank
    # lines, signature lines never do.
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("malformed note: no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    if not sig_block.endswith("\n"):
        raise CheckpointError("malformed note: signature block must end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    sigs: list[tuple[str, bytes]] = []
    for line in lines:
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError(f"malformed note: signature line {line!r} must start with '\u2014 '")
        name, sep, sig_b64 = line[len(SIG_PREFIX) :].partition(" ")
        if not sep:
            raise CheckpointError(f"malformed note: signature line {line!r} has no signature")
        try:
            _check_key_name(name)
            blob = _b64decode_strict(sig_b64)
        except CheckpointError as exc:
            raise CheckpointError(f"malformed note: {exc}") from exc
        if len(blob) < 5:  # a key ID and at least one signature byte
            raise CheckpointError(f"malformed note: signature by {name!r} is too short")
        sigs.append((name, blob))
    return text, sigs


def open_note(note: str, name: str, public_key: bytes) -> str:
    """Verify ``note`` against the Ed25519 key ``(name, public_key)`` and return its text.

    Signature lines from other keys (different name or key ID, e.g. witness
    cosignatures) are ignored. Raises :class:`CheckpointError` if the note is
    malformed, carries no signature from this key, or if any signature from
    this key fails to verify (the spec's recommended whole-note rejection).
    """
    if isinstance(note, (bytes, bytearray)):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError("malformed note: not valid UTF-8") from exc
    if not isinstance(note, str):
        raise CheckpointError("note must be str or bytes")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CheckpointError("malformed note: not valid UTF-8") from exc
    text, sigs = _split_note(note)
    _check_text(text)
    kid = key_hash(name, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(_check_public_key(public_key))
    matched = False
    for sig_name, blob in sigs:
        if sig_name != name or blob[:4] != kid:
            continue  # unknown key: MUST be ignored
        matched = True
        if len(blob) != 4 + 64:
            raise CheckpointError(f"bad signature by {name}: wrong length")
        try:
            verifier.verify(blob[4:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise CheckpointError(f"bad signature by {name}+{kid.hex()}") from exc
    if not matched:
        raise CheckpointError(f"no signature from key {name}+{kid.hex()}")
    return text
