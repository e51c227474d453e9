"""Person names: one spelling per person, and none that can pass for another's.

A name is what a court reads under a signature, so it must be unambiguous. At registration a name is
normalised — Unicode NFC, surrounding whitespace trimmed — and refused if it

- is empty;
- mixes scripts (Latin with Cyrillic, Greek …: "Karen Hоlm" with a Cyrillic "о");
- is confusable with a name registered before: the same once every character is mapped to the
  character it looks like (Unicode's confusables, via the maintained ``confusable-homoglyphs``
  package) and case is folded — "Karen Hоlm" for "Karen Holm", "lb Berg" for "Ib Berg".

The checks run where key events are folded (identity.py), so ``verify`` and ``verify-bundle`` refuse a
forged registration of a look-alike name as firmly as ``keys add`` does.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from .errors import ValidationError


def normalise(name: str) -> str:
    """The registered form of a name: NFC, surrounding whitespace trimmed."""
    return unicodedata.normalize("NFC", name).strip()


@lru_cache(maxsize=4096)
def skeleton(name: str) -> str:
    """What a name looks like: each character mapped to its look-alike prototype, case folded, spaces
    collapsed. Two different names with one skeleton can be mistaken for each other."""
    from confusable_homoglyphs.confusables import confusables_data

    def prototypes(text: str) -> str:
        # A character listed with exactly one look-alike maps to it (its prototype); a prototype itself
        # lists all its look-alikes and stays as it is.
        out = []
        for ch in text:
            alikes = confusables_data.get(ch)
            out.append(alikes[0]["c"].strip("\u200e") if alikes and len(alikes) == 1 else ch)
        return "".join(out)

    # Before and after folding case: "I" passes for "l", and "HOLM" for "Holm".
    return " ".join(prototypes(prototypes(unicodedata.normalize("NFKC", name)).casefold()).split())


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be registered as it stands (ignoring other names), or ``None``."""
    if not isinstance(name, str) or not name:
        return "a name must be a non-empty text"
    if name != normalise(name):
        return f"the name {name!r} is not in its registered form (NFC, no surrounding whitespace): {normalise(name)!r}"
    from confusable_homoglyphs.confusables import is_mixed_script

    if is_mixed_script(name):
        from confusable_homoglyphs.categories import unique_aliases

        scripts = sorted(unique_aliases(name) - {"COMMON"})
        return f"the name {name!r} mixes scripts ({', '.join(s.title() for s in scripts)}): it could pass for another"
    return None


def check_name(name: str, registered: dict[str, str]) -> None:
    """Raise ValidationError unless ``name`` may be registered beside ``registered`` (skeleton → name)."""
    problem = name_problem(name)
    if problem:
        raise ValidationError(problem)
    other = registered.get(skeleton(name))
    if other is not None and other != name:
        raise ValidationError(f"the name {name!r} is confusable with the registered name {other!r}")
