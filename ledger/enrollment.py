"""Enrollment requests: a person makes their own key pair and asks an admin to register its public half.

The admin's key home never holds another person's private key. The person runs ``tilsyn keys generate
NAME --out REQUEST`` in their own key home, under their own passphrase; the request names the person,
the ledger it is meant for (id and origin), the public key, optionally an X25519 public key for reading
sealed personal data, and a proof of possession: the new key's signature over
:func:`~tilsyn.ledger.identity.possession_bytes`. The admin registers it with ``tilsyn keys add NAME
--role ROLE --request REQUEST``; the KeyRegistered event carries the proof, so ``verify`` and
``verify-bundle`` re-check it, and a request made for another ledger never verifies here.

A request file is canonical JSON (sorted keys) followed by one LF::

    {"format": "tilsyn-key-request/1", "key_id": …, "ledger_id": …, "name": …, "origin": …,
     "proof": <base64 of 64 bytes>, "public_key": <base64 of 32 bytes>[, "x25519_public_key": <base64 of 32 bytes>]}
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import canonical, keys
from .errors import ValidationError
from .identity import POSSESSION_EXTRA as EXTRA_FIELDS, check_possession, possession_bytes
from .names import name_problem, normalise
from .strictjson import StrictJSONError, loads

REQUEST_FORMAT = "tilsyn-key-request/1"
_REQUIRED = {"format", "key_id", "ledger_id", "name", "origin", "proof", "public_key"}


@dataclass(frozen=True)
class KeyRequest:
    """A checked enrollment request."""

    name: str
    ledger_id: str
    origin: str
    key_id: str
    public_key: str
    proof: str
    extra: dict[str, str]

    def payload(self, roles: list[str]) -> dict[str, Any]:
        """The KeyRegistered payload that registers this request with ``roles``."""
        return {"name": self.name, "key_id": self.key_id, "public_key": self.public_key, "roles": sorted(set(roles)),
                "proof": self.proof, **self.extra}


def _b64_32(value: Any, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except binascii.Error:
        raw = b""
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise ValidationError(f"the request's {what} is not canonical base64 of 32 bytes")
    return raw


def make_request(private_key: Ed25519PrivateKey, name: str, ledger_id: str, origin: str,
                 x25519_public_key: bytes | None = None) -> bytes:
    """The request file's bytes for ``private_key``'s public half (the private key stays with its owner).
    ``name`` is taken in its registered form (NFC, trimmed) and refused if it mixes scripts."""
    name = normalise(name)
    problem = name_problem(name)
    if problem:
        raise ValidationError(problem)
    pub = keys.public_bytes(private_key)
    pub_b64 = base64.b64encode(pub).decode()
    extra = {}
    if x25519_public_key is not None:
        if len(x25519_public_key) != 32:
            raise ValidationError("an X25519 public key is 32 bytes")
        extra["x25519_public_key"] = base64.b64encode(x25519_public_key).decode()
    proof = private_key.sign(possession_bytes(ledger_id, name, pub_b64, extra))
    doc = {"format": REQUEST_FORMAT, "name": name, "ledger_id": ledger_id, "origin": origin, "key_id": keys.key_id(pub),
           "public_key": pub_b64, "proof": base64.b64encode(proof).decode(), **extra}
    return canonical.encode(canonical.normalise(doc)) + b"\n"


def read_request(data: bytes, ledger_id: str) -> KeyRequest:
    """Parse and check a request for the ledger ``ledger_id``; ValidationError says what is wrong."""
    try:
        doc = loads(data)
    except StrictJSONError as e:
        raise ValidationError(f"the key request is not strict JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != REQUEST_FORMAT:
        raise ValidationError(f"not a key request (format is not {REQUEST_FORMAT!r})")
    missing = sorted(_REQUIRED - set(doc))
    unknown = sorted(set(doc) - _REQUIRED - set(EXTRA_FIELDS))
    if missing or unknown:
        raise ValidationError("the key request " + (f"lacks {', '.join(missing)}" if missing else
                                                    f"has unknown members {', '.join(unknown)}"))
    if not all(isinstance(doc[k], str) for k in doc):
        raise ValidationError("every member of a key request is a text")
    if doc["ledger_id"] != ledger_id:
        raise ValidationError(f"the key request was made for ledger {doc['ledger_id']!r} ({doc['origin']}), not for "
                              f"this one ({ledger_id})")
    problem = name_problem(doc["name"])
    if problem:
        raise ValidationError(problem)
    pub = _b64_32(doc["public_key"], "public_key")
    if keys.key_id(pub) != doc["key_id"]:
        raise ValidationError("the request's key_id does not match its public key")
    for f in EXTRA_FIELDS:
        if f in doc:
            _b64_32(doc[f], f)
    check_possession(ledger_id, doc["name"], doc, pub, EXTRA_FIELDS)
    return KeyRequest(doc["name"], ledger_id, doc["origin"], doc["key_id"], doc["public_key"], doc["proof"],
                      {f: doc[f] for f in EXTRA_FIELDS if f in doc})
