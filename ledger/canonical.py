"""Canonical bytes: the one encoding of a value that gets signed, stored and hashed.

JSON as written by msgspec: no whitespace, object keys sorted, text normalised to Unicode NFC so that
"ø" typed on two keyboards is the same bytes. Floats are refused outright: a signed legal record must
not depend on how a platform rounds. Encoding happens once; verification reads the stored bytes.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import msgspec

from .errors import ValidationError

_encoder = msgspec.json.Encoder(order="deterministic")


def normalise(value: Any, path: str = "payload") -> Any:
    """Return ``value`` with every string NFC-normalised; refuse floats and non-JSON types."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        # ASCII is always NFC; the check is a fast path for ids, codes and most Danish-free text.
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, float):
        raise ValidationError(f"{path} is a float ({value!r}); floats are not allowed in signed data")
    if isinstance(value, (list, tuple)):
        return [normalise(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(f"{path} has a non-text key {k!r}")
            nk = k if k.isascii() else unicodedata.normalize("NFC", k)
            if nk in out:
                raise ValidationError(f"{path} has the key {nk!r} twice after NFC normalisation")
            out[nk] = normalise(v, f"{path}.{nk}")
        return out
    raise ValidationError(f"{path} has a value of type {type(value).__name__}, which JSON cannot carry")


def encode(value: Any) -> bytes:
    """Encode a msgspec Struct or plain value canonically (sorted keys, no whitespace)."""
    return _encoder.encode(value)
