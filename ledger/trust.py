"""What this machine has verified, kept outside the database: the anchor every read is checked against.

A database-only insider can rewrite any table, so nothing in the database can say which of its rows
are genuine. What this machine once verified can: :class:`Verified` records the verified prefix of
the ledger — its size, the leaf hash at its end (so a rewound or rewritten ledger shows), the genesis
leaf (so a swapped ledger shows), the Merkle right edge (so a checkpoint root comes from verified
records, never from the ``merkle_nodes`` cache), the erasures, and for every stream its version, last
seq and a running digest over its leaf hashes (so a read of one stream is checked in O(its events)
by hashing, without a signature per event). It lives in the user's key home, authenticated by an
HMAC under a secret that lives there too (``<home>/trust.key``, mode 0600) — never in the database.

Rows beyond the prefix are verified the way ``tilsyn verify`` does (chain, signatures, keys, roles),
then added. Without a key home (the Python API without ``trust_home``) the state lives in memory only:
every open verifies the whole ledger once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import msgspec

from .filemodes import private_dir

ZERO_DIGEST = bytes(32)
SECRET_FILE = "trust.key"
STATE_DIR = "verified"


def extend_digest(digest: bytes, leaf: bytes) -> bytes:
    """A stream's digest after one more event: SHA-256(previous digest ‖ leaf hash)."""
    return hashlib.sha256(digest + leaf).digest()


class StreamMark(msgspec.Struct, array_like=True, frozen=True):
    """A stream as verified: its version, the seq of its last event, the digest over its leaf hashes."""

    version: int
    seq: int
    digest: bytes


class Verified(msgspec.Struct):
    """The verified prefix of one ledger (see the module docstring)."""

    url: str
    genesis: bytes = b""
    seq: int = 0
    leaf: bytes = b""
    recorded_at: str = ""
    edge: list[tuple[int, bytes]] = []
    streams: dict[str, StreamMark] = {}
    erased: dict[str, int] = {}


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Verified)


class TrustStore:
    """The secret and the verified states of one key home (or of this process only, without a home)."""

    def __init__(self, home: str | Path | None = None):
        self.home = Path(home).expanduser() if home is not None else None
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        """The HMAC secret: ``<home>/trust.key``, made on first use (a per-process one without a home)."""
        if self._secret is None:
            self._secret = self._load_secret()
        return self._secret

    def _load_secret(self) -> bytes:
        if self.home is None:
            return os.urandom(32)
        path = self.home / SECRET_FILE
        try:
            data = path.read_bytes()
            if len(data) == 32:
                return data
        except OSError:
            pass
        try:
            private_dir(self.home)
            secret = os.urandom(32)
            tmp = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secret)
            try:
                os.link(tmp, path)  # never replace a secret another process made meanwhile
            except FileExistsError:
                pass
            finally:
                tmp.unlink(missing_ok=True)
            data = path.read_bytes()
            return data if len(data) == 32 else secret
        except OSError:
            self.home = None  # an unwritable home: trust only this process's own checks
            return os.urandom(32)

    def mac(self, *parts: bytes) -> bytes:
        """HMAC-SHA256 under the secret over length-prefixed ``parts`` (unambiguous concatenation)."""
        m = hmac.new(self.secret(), digestmod=hashlib.sha256)
        for p in parts:
            m.update(len(p).to_bytes(8, "big"))
            m.update(p)
        return m.digest()

    def _path(self, url: str) -> Path | None:
        if self.home is None:
            return None
        return self.home / STATE_DIR / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".state")

    def load(self, url: str) -> Verified | None:
        """The verified state of the ledger at ``url``, if one was saved and its HMAC holds."""
        path = self._path(url)
        if path is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        if len(blob) < 32 or not hmac.compare_digest(blob[:32], self.mac(b"verified", blob[32:])):
            return None  # not ours (or damaged): verify again from the start
        try:
            state = _decoder.decode(blob[32:])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return state if state.url == url else None

    def save(self, state: Verified) -> None:
        """Write the state atomically; a home that cannot be written just means verifying again later."""
        path = self._path(state.url)
        if path is None:
            return
        body = _encoder.encode(state)
        try:
            private_dir(path.parent, self.home)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self.mac(b"verified", body) + body)
            os.replace(tmp, path)
        except OSError:
            pass
