"""Strict JSON: one byte string, one meaning, for files outsiders hand us (evidence bundles).

RFC 8259 leaves to each parser what duplicate member names mean, how large an integer may be and
whether ``1.0`` equals ``1``; parsers disagree, so a file could say one thing to us and another to a
court's own verifier. This reader refuses every such case instead of picking a reading:

- the text must be UTF-8 (no byte order mark), one JSON value and nothing after it;
- no object may name a member twice, at any depth;
- no number may have a fraction or exponent (``1.0``, ``1e0``) and no integer may lie outside
  ±(2^53 − 1), the range every JSON implementation reads exactly; ``NaN``/``Infinity`` are refused;
- no string may hold a lone surrogate escape (``"\\ud800"``), which is not Unicode text.

Whitespace between tokens is only what RFC 8259 allows (space, tab, LF, CR).
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class StrictJSONError(ValueError):
    """The data is not JSON of the strict kind this module reads."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJSONError(f"the member {key!r} appears twice in one object")
        out[key] = value
    return out


def _int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise StrictJSONError(f"the integer {text} is outside ±(2^53−1)")
    return value


def _float(text: str) -> float:
    raise StrictJSONError(f"the number {text} is not an integer (fractions and exponents are not allowed)")


def _constant(text: str) -> float:
    raise StrictJSONError(f"{text} is not JSON")


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJSONError("a string holds a lone surrogate (not Unicode text)") from None
    elif isinstance(value, list):
        for v in value:
            _check_text(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_text(k)
            _check_text(v)


def loads(data: bytes) -> Any:
    """Parse ``data`` strictly (see the module docstring); raise :class:`StrictJSONError` otherwise."""
    if isinstance(data, (bytes, bytearray)):
        if data[:3] == b"\xef\xbb\xbf":
            raise StrictJSONError("the file starts with a byte order mark")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise StrictJSONError(f"not UTF-8 ({e})") from None
    else:
        text = data
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                           parse_constant=_constant)
    except json.JSONDecodeError as e:
        raise StrictJSONError(f"not JSON ({e})") from None
    except StrictJSONError:
        raise
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise StrictJSONError(f"not JSON ({e})") from None
    except RecursionError:
        raise StrictJSONError("nested too deeply") from None
    _check_text(value)
    return value
