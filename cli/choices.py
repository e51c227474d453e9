"""Danish words on the command line: æ/ø/å or ae/oe/aa, spaces or hyphens, any case."""

from __future__ import annotations

import click

_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", " ": "-", "_": "-"})


def fold(text: str) -> str:
    """The ASCII form used to compare what a person typed with a Danish term."""
    return text.strip().lower().translate(_FOLD)


class DanishChoice(click.ParamType):
    """A choice among Danish terms that accepts ``grøn``, ``groen``, ``ikke-til-stede``, ``ikke til stede`` …

    The value passed on is always the term exactly as the domain spells it.
    """

    name = "choice"

    def __init__(self, terms: tuple[str, ...], shown: tuple[str, ...] | None = None):
        self.terms = terms
        self.shown = shown or tuple(t.replace(" ", "-") for t in terms)
        self._by_fold = {fold(t): t for t in terms}
        for short, full in zip(self.shown, terms):
            self._by_fold.setdefault(fold(short), full)

    def get_metavar(self, param, ctx=None) -> str:
        return "|".join(self.shown)

    def convert(self, value, param, ctx):
        if value in self.terms:
            return value
        found = self._by_fold.get(fold(str(value)))
        if found is None:
            self.fail(f"{value!r} is not one of {', '.join(self.shown)}", param, ctx)
        return found
