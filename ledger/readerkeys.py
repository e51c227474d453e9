"""The cryptography of reading: X25519 reader keys in the key home, the reader group key, subject keys.

Only maintained primitives from ``cryptography``: HPKE (RFC 9180, DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-256-GCM) seals a group key to one reader's X25519 public key; AES-256-GCM wraps subject
keys and the previous epoch's key under a group key. Every ciphertext is bound by its HPKE ``info`` or
AES-GCM associated data to what it is (ledger, epoch, reader, subject), so none can be moved elsewhere.

A reader's X25519 private key lives in their own key home, ``keys/<Ed25519 key id>.x25519.pem``
(PKCS#8, mode 0600, under the same passphrase as their signing key), and never anywhere else.
A :class:`Keyring` holds the reader keys unlocked in this process and the group keys they opened.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import KeyFileError, LedgerError
from .filemodes import private_dir
from .readers import Epoch, ReaderState

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


class NoReaderKey(LedgerError):
    """Nobody acting here holds a reader key that opens this: the data stays sealed."""


# -- reader key files ---------------------------------------------------------------------------
def reader_key_path(home: Path, kid: str) -> Path:
    return home / "keys" / f"{kid}.x25519.pem"


def x25519_public(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def save_reader_key(home: Path, kid: str, key: X25519PrivateKey, passphrase: str | None) -> Path:
    """Write the reader key of Ed25519 key ``kid`` into ``home`` (0600 from the first byte, never replacing)."""
    path = reader_key_path(home, kid)
    private_dir(path.parent, home)
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return path


def load_reader_key(home: Path, kid: str, passphrase: str | None) -> X25519PrivateKey | None:
    """The reader key of ``kid`` from ``home``, or None if there is none."""
    path = reader_key_path(home, kid)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise KeyFileError(f"cannot read reader key file {path}: {e.strerror}") from None
    encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
    if encrypted and not passphrase:
        raise KeyFileError(f"reader key file {path} is passphrase-protected; set $TILSYN_PASSPHRASE")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode() if encrypted else None)
    except (ValueError, TypeError):
        raise KeyFileError(f"reader key file {path} does not open (wrong passphrase, or not a key)") from None
    if not isinstance(key, X25519PrivateKey):
        raise KeyFileError(f"reader key file {path} does not hold an X25519 key")
    return key


# -- bindings -----------------------------------------------------------------------------------
def _member_info(ledger_key: str, epoch: int, kid: str, x25519: bytes) -> bytes:
    return f"tilsyn-reader-group/1\n{ledger_key}\n{epoch}\n{kid}\n{base64.b64encode(x25519).decode()}".encode()


def _previous_aad(ledger_key: str, epoch: int) -> bytes:
    return f"tilsyn-reader-previous/1\n{ledger_key}\n{epoch}".encode()


def subject_aad(ledger_key: str, subject: str, gen: int, epoch: int) -> bytes:
    return f"tilsyn-subject-key/2\n{ledger_key}\n{subject}\n{gen}\n{epoch}".encode()


def key_check(group_key: bytes) -> str:
    """A commitment to a group key, so every member can tell they were given the same one."""
    return hashlib.sha256(b"tilsyn-reader-group-check/1\x00" + group_key).hexdigest()[:32]


def aead_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_open(key: bytes, blob: bytes, aad: bytes) -> bytes | None:
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
    except (InvalidTag, ValueError):
        return None


def new_epoch(ledger_key: str, number: int, members: dict[str, bytes], previous: bytes | None
              ) -> tuple[bytes, dict]:
    """A fresh group key for epoch ``number`` and the payload that hands it to ``members`` (kid -> X25519)."""
    group = AESGCM.generate_key(256)
    payload = {
        "epoch": number, "key_check": key_check(group),
        "members": [{"key_id": kid, "wrapped": base64.b64encode(SUITE.encrypt(
            group, X25519PublicKey.from_public_bytes(pub), info=_member_info(ledger_key, number, kid, pub))).decode()}
            for kid, pub in sorted(members.items())],
    }
    if previous is not None:
        payload["previous"] = base64.b64encode(aead_seal(group, previous, _previous_aad(ledger_key, number))).decode()
    return group, payload


class Keyring:
    """The reader keys unlocked in this process and the group keys they open (in memory only)."""

    def __init__(self) -> None:
        self.identities: dict[str, X25519PrivateKey] = {}  # Ed25519 key id -> its X25519 reader key
        self.ledger_key = ""
        self._groups: dict[int, bytes] = {}

    def unlock(self, kid: str, key: X25519PrivateKey) -> None:
        self.identities[kid] = key

    def remember(self, epoch: int, group: bytes) -> None:
        self._groups[epoch] = group

    def group_key(self, state: ReaderState, number: int) -> bytes:
        """The group key of epoch ``number``: opened by a member unlocked here, directly or from a later
        epoch down its ``previous`` chain. Raises :class:`NoReaderKey`."""
        if number in self._groups:
            return self._groups[number]
        for later in state.epochs[number - 1:]:
            group = self._open_member(later)
            if group is None:
                continue
            for e in range(later.epoch, number, -1):  # walk down: epoch e holds the key of e - 1
                self._groups[e] = group
                prev = state.epoch(e).previous
                group = aead_open(group, prev, _previous_aad(self.ledger_key, e)) if prev is not None else None
                if group is None or key_check(group) != state.epoch(e - 1).key_check:
                    break
            else:
                self._groups[number] = group
                return group
        raise NoReaderKey("personal data is sealed for the permitted readers; nobody acting here holds a "
                          "reader key that opens it (act as a tilsynskonsulent or tilsynsleder with your own key: --as NAME)")

    def _open_member(self, epoch: Epoch) -> bytes | None:
        for kid, key in self.identities.items():
            wrapped = epoch.members.get(kid)
            if wrapped is None:
                continue
            info = _member_info(self.ledger_key, epoch.epoch, kid, x25519_public(key))
            try:
                group = SUITE.decrypt(wrapped, key, info=info)
            except (InvalidTag, ValueError):
                continue
            if key_check(group) == epoch.key_check:
                return group
        return None
