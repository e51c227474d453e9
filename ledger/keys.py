"""Ed25519 keys: generation, key ids, and private key files in the key home.

Private keys never enter the ledger. Each lives in ``<home>/keys/<key_id>.pem`` (PKCS#8 PEM, mode
0600, optionally encrypted with a passphrase). Files are named by key id, not by person, so one key
home can serve several ledgers without clashes, and a revoked key's file can simply stay put.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import KeyFileError
from .filemodes import private_dir


def generate() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A key's id: the first 8 bytes of SHA-256 over its raw public key, in hex (16 characters)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519 signature of ``data`` under ``public_key``."""
    try:
        _public_key(bytes(public_key)).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


@lru_cache(maxsize=8192)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    # Decoding the point costs a tenth of a verification; a ledger's writers use few keys again and again.
    return Ed25519PublicKey.from_public_bytes(raw)


def default_home() -> Path:
    """``$TILSYN_HOME`` or ``~/.tilsyn``."""
    return Path(os.environ.get("TILSYN_HOME") or Path.home() / ".tilsyn").expanduser()


class KeyStore:
    """Private key files below a key home directory."""

    def __init__(self, home: Path | str | None = None):
        # "~" means the home directory, whether it came from --home, $TILSYN_HOME or Python code.
        self.home = Path(home).expanduser() if home is not None else default_home()

    def path(self, kid: str) -> Path:
        """Where the private key with id ``kid`` lives."""
        return self.home / "keys" / f"{kid}.pem"

    def save(self, key: Ed25519PrivateKey, passphrase: str | None = None) -> Path:
        """Write ``key`` to its file with mode 0600 (never overwriting); return the path."""
        kid = key_id(public_bytes(key))
        path = self.path(kid)
        private_dir(path.parent, self.home)
        encryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        # O_EXCL: a key file is never silently replaced; 0600 from the first byte, not chmod afterwards.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return path

    def load(self, kid: str, passphrase: str | None = None) -> Ed25519PrivateKey:
        """Read the private key ``kid``; raise :class:`KeyFileError` with the reason if it cannot."""
        path = self.path(kid)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise KeyFileError(f"no private key file for key {kid} at {path}") from None
        except OSError as e:
            raise KeyFileError(f"cannot read key file {path}: {e.strerror}") from None
        encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
        if encrypted and not passphrase:
            raise KeyFileError(f"key file {path} is passphrase-protected; set $TILSYN_PASSPHRASE")
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase.encode() if encrypted else None)
        except (ValueError, TypeError):
            if encrypted:
                raise KeyFileError(f"wrong passphrase for key file {path}") from None
            raise KeyFileError(f"key file {path} is not a valid PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"key file {path} does not hold an Ed25519 key")
        return key
