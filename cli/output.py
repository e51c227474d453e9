"""Output helpers: rich on a terminal for people, plain JSON for scripts — and what people typed, literally.

What is shown is what was signed. Text from the ledger (names, reasons, observations, plan cells) is
never parsed as console markup, and terminal control characters never reach the terminal raw: an ESC
could recolour or rewrite the screen, a CR overwrite a line, a right-to-left override reverse what a
reader sees. They are shown as visible escapes (``\\x1b``, ``\\r``, ``\\u202e``) instead. Every printing
path of the CLI goes through :func:`visible` — the console below applies it to every string and every
rendered segment, :func:`emit_json` escapes the same characters as JSON escapes, and :func:`fail`
keeps an error message on one line.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from rich.text import Text

# rich is imported on first use (the consoles below are built when a command first prints): `tilsyn
# --version`, `--help` and every error line answer without loading it.

# C0 controls except TAB and LF, DEL, C1 controls; bidirectional embeddings, overrides and isolates,
# the implicit direction marks, and the Unicode line/paragraph separators (a terminal may break a
# line there, so one line of output could pose as two).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SHORT = {"\r": "\\r", "\x1b": "\\x1b", "\x07": "\\a", "\x08": "\\b", "\x0b": "\\v", "\x0c": "\\f", "\x00": "\\0"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: Any) -> str:
    """``text`` as a string that is safe to put on a terminal: control characters (except newline and
    tab) and bidi controls become visible escapes such as ``\\x1b`` or ``\\u202e``; everything else,
    ``[bold]`` and ``[/]`` included, stays exactly as typed."""
    text = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def one_line(text: Any) -> str:
    """Like :func:`visible`, and newlines and tabs are shown as ``\\n`` / ``\\t`` too (error messages)."""
    return visible(text).replace("\n", "\\n").replace("\t", "\\t")


def visible_data(data: Any) -> Any:
    """A copy of JSON-like ``data`` with :func:`visible` applied to every string, keys included."""
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, dict):
        return {visible_data(k): visible_data(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [visible_data(v) for v in data]
    return data


def text(value: Any, style: str = "") -> Text:
    """A rich :class:`Text` of user text, made visible first (``Text`` itself would silently drop CR
    and BEL, and pass ESC through)."""
    from rich.text import Text

    return Text(visible(value) if value is not None else "–", style=style)


@cache
def _safe_console_class() -> type:
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        """A console that never interprets markup in strings and never writes a raw control character.

        Styles come only from :class:`rich.text.Text` objects built by the CLI itself; strings (table
        cells, tree labels, printed lines) are rendered literally and made :func:`visible`. As a last
        net, every rendered segment that is text (not the console's own control codes) is escaped too.
        """

        def __init__(self, **kwargs: Any):
            kwargs.setdefault("highlight", False)
            super().__init__(markup=False, emoji=False, **kwargs)

        def render_str(self, text: str, **kwargs: Any):  # noqa: D102 - rich's hook for every str
            kwargs["markup"] = False
            kwargs["emoji"] = False
            return super().render_str(visible(text), **kwargs)

        def render(self, renderable: Any, options: Any = None) -> Iterable[Segment]:  # noqa: D102
            for segment in super().render(renderable, options):
                if not segment.control and _UNSAFE.search(segment.text):
                    segment = Segment(visible(segment.text), segment.style, segment.control)
                yield segment

    SafeConsole.__module__ = __name__
    return SafeConsole


def __getattr__(name: str) -> Any:
    """``console``, ``err_console`` and ``SafeConsole``, made on first use (PEP 562)."""
    if name == "SafeConsole":
        return _safe_console_class()
    if name == "console":  # piped output is not cut at 80 columns: a script or a log should get whole lines
        value = _safe_console_class()(width=None if sys.stdout.isatty() else 160)
    elif name == "err_console":
        value = _safe_console_class()(stderr=True)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps_json(data: Any) -> str:
    """``data`` as JSON (UTF-8, Danish letters kept as they are) with every character that
    :func:`visible` escapes written as a ``\\uXXXX`` escape: the same string for a parser, nothing raw
    for a terminal."""
    import json

    out = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    return _UNSAFE.sub(_json_escape, out)  # JSON already escapes C0; only DEL, C1 and bidi remain


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (see :func:`dumps_json`)."""
    sys.stdout.write(dumps_json(data) + "\n")


def writable_file(ctx: Any, param: Any, value: str | None) -> str | None:
    """A click callback for an output file option: its directory must exist and the path must not be
    a directory, checked before the command does anything (an export must not sign a checkpoint and
    then fail to write its file)."""
    import os
    from pathlib import Path

    import click

    if value is None or value == "-":
        return value
    path = Path(value).expanduser()
    parent = path.parent
    if path.is_dir():
        raise click.BadParameter(f"{value} is a directory; give a file name", ctx=ctx, param=param)
    if not parent.is_dir():
        raise click.BadParameter(f"the directory {parent} does not exist", ctx=ctx, param=param)
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"cannot write {value} (permission denied)", ctx=ctx, param=param)
    return str(path)


def error_line(message: Any) -> str:
    """The one line every failure prints: ``tilsyn: error: …``."""
    return f"tilsyn: error: {one_line(message)}\n"


def fail(message: str, code: int = 2) -> None:
    """Print one clear line to stderr and exit with ``code`` (2: refused or bad input)."""
    sys.stderr.write(error_line(message))
    raise SystemExit(code)
