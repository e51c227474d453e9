"""A small escaping HTML renderer: everything is text unless this module made it markup.

Data in reports comes from users (names, reasons, observations), so :func:`el` escapes whatever it is
given unless it is :class:`Html` built here. There is deliberately no way to mark user data as safe.
"""

from __future__ import annotations

import html
from typing import Any



class Html(str):
    """Markup that is already safe. Only :func:`el`, :func:`cat` and :func:`raw` make it."""


def esc(value: Any) -> Html:
    """``value`` as HTML text: Html passes through, everything else is escaped (quotes too)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def raw(markup: str) -> Html:
    """Trusted markup written in this module (never data)."""
    return Html(markup)


def cat(*parts: Any) -> Html:
    """Concatenate, escaping what is not Html; None is dropped and iterables are flattened."""
    out: list[str] = []
    for p in parts:
        if p is None:
            continue
        if isinstance(p, (list, tuple)) or (not isinstance(p, str) and hasattr(p, "__next__")):
            out.append(cat(*p))
        else:
            out.append(esc(p))
    return Html("".join(out))


_VOID = {"meta", "br", "hr", "col"}


def el(tag: str, *children: Any, **attrs: Any) -> Html:
    """``<tag attrs>children</tag>``. ``class_=`` is ``class``, ``aria_label=`` is ``aria-label``;
    an attribute of None or False is left out, True writes it bare."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    opening = f"<{' '.join(parts)}>"
    if tag in _VOID:
        return Html(opening)
    return Html(f"{opening}{cat(*children)}</{tag}>")


# -- formatting ---------------------------------------------------------------------------------
