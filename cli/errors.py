"""Every failure as one line: what went wrong, in words a user can act on, and the exit code.

Exit 2: refused, bad input, or the environment is not usable (a file, the database). Exit 1: stored
data failed verification. The mapping lives here, in one place, so that the root command group can
turn *anything* into ``tilsyn: error: …`` — but the cases users meet are named and explained one by
one; the catch-all at the end exists only so that a bug shows as one honest line, never a traceback.
"""

from __future__ import annotations

import click

REFUSED = 2
DAMAGED = 1
BUG = "bug"
EXIT_CODE = {BUG: 2}

# What SQLite and PostgreSQL say, and what it means for a ledger user.
_DB_MESSAGES = (
    ("database is locked", "the ledger is locked by another writer (waited for the busy timeout); nothing was "
                           "written, try again"),
    ("database table is locked", "the ledger is locked by another writer; nothing was written, try again"),
    ("attempt to write a readonly database", "the ledger is read-only here (file or directory permissions); "
                                             "nothing was written"),
    ("readonly database", "the ledger is read-only here; nothing was written"),
    ("file is not a database", "the file is not a ledger database (not SQLite)"),
    ("file is encrypted or is not a database", "the file is not a ledger database (not SQLite)"),
    ("unable to open database file", "cannot open the database file (missing directory, a directory, or no "
                                     "permission)"),
    ("disk i/o error", "the disk failed while using the ledger; nothing was written"),
    ("database disk image is malformed", "the SQLite file is damaged; run 'tilsyn verify'"),
    ("no such table", "the database is not a (complete) ledger; create one with 'tilsyn init'"),
    ("already exists", "another process is creating the ledger at the same time; nothing was changed, try again"),
    ("duplicate key value", "another writer got there first; nothing was written, try again"),
    ("could not serialize access", "another writer got there first; nothing was written, try again"),
    ("deadlock detected", "another writer got there first; nothing was written, try again"),
    ("connection refused", "cannot reach the database server (connection refused)"),
    ("password authentication failed", "the database server refused the login"),
)


def _damaged_types() -> tuple[type, ...]:
    from tilsyn.ledger import errors

    return tuple(t for t in (getattr(errors, "DamagedError", None),) if t is not None)


def _expected_types() -> tuple[type, ...]:
    from tilsyn.ledger.errors import LedgerError
    from tilsyn.plugins.manager import PluginError
    from tilsyn.standards.errors import StandardError

    return LedgerError, StandardError, PluginError


def usage_hint(ctx: click.Context | None) -> str:
    """Where to read more: ``tilsyn COMMAND --help`` for the command the error is about."""
    path = ctx.command_path if ctx is not None else "tilsyn"
    return f"(see '{path} --help')"


def database_message(error: BaseException) -> str:
    """A database driver's error in words: what it means for the ledger, then what the driver said."""
    orig = getattr(error, "orig", None) or error
    said = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    low = said.lower()
    for needle, meaning in _DB_MESSAGES:
        if needle in low:
            return f"{meaning} ({said})"
    return f"the database refused: {said}"


def os_message(error: OSError) -> str:
    what = error.strerror or str(error) or type(error).__name__
    where = error.filename
    if where is not None:
        return f"cannot use {where}: {what}"
    return what


def describe(error: BaseException) -> tuple[int | str, str | None]:
    """``(exit code, message)`` for ``error``; the message is None when nothing should be printed."""
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code, None
    if isinstance(error, click.UsageError):
        return REFUSED, f"{error.format_message()} {usage_hint(error.ctx)}"
    if isinstance(error, click.ClickException):
        return REFUSED, error.format_message()
    if isinstance(error, (click.exceptions.Abort, KeyboardInterrupt)):
        return REFUSED, "interrupted; a transaction that had not committed was rolled back"
    damaged = _damaged_types()
    if damaged and isinstance(error, damaged):
        return DAMAGED, str(error)
    import msgspec

    if isinstance(error, (msgspec.DecodeError, msgspec.ValidationError)):
        # Input a person gives is validated (and explained) before it gets here; bytes that fail to
        # decode this late came out of the database.
        return DAMAGED, f"a stored record cannot be read ({error}); the ledger may be damaged — run 'tilsyn verify'"
    if isinstance(error, _expected_types()):
        return REFUSED, str(error)
    import sqlalchemy.exc

    if isinstance(error, sqlalchemy.exc.DBAPIError):
        return REFUSED, database_message(error)
    import sqlite3

    if isinstance(error, sqlite3.Error) or type(error).__module__.split(".")[0] == "psycopg":
        return REFUSED, database_message(error)  # the driver's own error, raised where SQLAlchemy did not wrap it
    if isinstance(error, sqlalchemy.exc.SQLAlchemyError):
        return REFUSED, f"the database cannot be used: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if isinstance(error, BrokenPipeError):
        return REFUSED, None  # the reader went away (| head): nothing to say to anyone
    if isinstance(error, OSError):
        return REFUSED, os_message(error)
    if isinstance(error, MemoryError):
        return REFUSED, "out of memory"
    return BUG, (f"unexpected {type(error).__name__}: {error} — this is a bug in tilsyn; "
                 f"TILSYN_DEBUG=1 shows where")


def exit_for(error: BaseException) -> SystemExit:
    """Print ``error`` as the one line it maps to (the traceback too for a bug under ``TILSYN_DEBUG=1``)
    and return the :class:`SystemExit` with its exit code, for the caller to raise."""
    import os
    import sys

    from .output import error_line

    code, message = describe(error)
    if message is not None:
        if os.environ.get("TILSYN_DEBUG") and code == BUG:
            import traceback

            traceback.print_exception(error)
        sys.stderr.write(error_line(message))
    sys.stderr.flush()
    return SystemExit(EXIT_CODE.get(code, code))
