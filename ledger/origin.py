"""The ledger's origin: its name in every checkpoint, which every client must read the same way.

The origin is the first line of each checkpoint and — unchanged — the key name of its signature line.
C2SP key names may hold no whitespace and no ``+``, and clients disagree about invisible characters
(``@sigstore/verify`` could not read a checkpoint whose origin held U+FEFF) and even about which code
points exist (a rule by general category depends on each verifier's Unicode version: U+1FAE0 is
unassigned to Go 1.19, a symbol to Python 3.11). So an origin is 1–255 characters of printable ASCII
(U+0021–U+007E) except ``+``: a Danish name is transliterated (``socialtilsyn-oest.example/…``).
docs/evidence-bundle.md §5 says the same.

A new ledger's default origin is ``tilsyn-ledger/<ledger id>``, the ledger id a fresh UUID: unique, so
no two ledgers ever share a witness's or monitor's state.
"""

from __future__ import annotations

import unicodedata

from .errors import ValidationError

MAX_LENGTH = 255

WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)] + [" ", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)] + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"])
"""The characters with the Unicode property White_Space (PropList.txt)."""


def origin_problem(origin: object) -> str | None:
    """Why ``origin`` cannot be a ledger origin, or ``None`` if it can."""
    if not isinstance(origin, str) or not origin:
        return "the origin must be a non-empty text"
    if len(origin) > MAX_LENGTH:
        return f"the origin is {len(origin)} characters long; at most {MAX_LENGTH} are allowed"
    for i, ch in enumerate(origin):
        if ch in WHITE_SPACE or unicodedata.category(ch).startswith("Z"):
            return f"the origin holds whitespace (U+{ord(ch):04X}) at position {i + 1}"
        if ch == "+":
            return f"the origin holds '+' at position {i + 1} (C2SP key names cannot contain it)"
        if not "\x21" <= ch <= "\x7e":
            return (f"the origin holds U+{ord(ch):04X} at position {i + 1}; an origin is printable ASCII "
                    "(transliterate: ø → oe)")
    return None


def check_origin(origin: str) -> str:
    """Return ``origin`` if it is acceptable (see the module docstring), else raise ValidationError."""
    problem = origin_problem(origin)
    if problem:
        raise ValidationError(f"{problem}; the origin appears in every checkpoint and must read alike everywhere")
    return origin
