"""The console entry point (``tilsyn``, ``python -m tilsyn``): the full command layer, except for the
one command that must answer at once.

``tilsyn verify-receipt FILE --policy POLICY [--json]`` is the offline check a tilbud runs on its
receipts, perhaps over a folder of them: it is answered here by :mod:`tilsyn.cli.receipt_check`, with
only hashing, Ed25519 and the note, policy and proof parsers loaded — no click, rich, SQLAlchemy,
pluggy or Jinja2. Only a command line that is exactly that shape takes this path; anything else (help,
global options, another command, a policy from tilsyn.toml, an argument click would refuse) goes to
:func:`tilsyn.cli.main.main`, which gives the same answers and the same exit codes.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Console entry point."""
    args = sys.argv[1:]
    receipt = _verify_receipt_args(args)
    if receipt is not None:
        from .receipt_check import run

        code = run(*receipt)
        sys.stdout.flush()
        raise SystemExit(code)
    from .main import main as full

    full()


def _verify_receipt_args(args: list[str]) -> tuple[str, str, bool] | None:
    """``(file, policy, as_json)`` if ``args`` is a plain ``verify-receipt FILE --policy P [--json]``."""
    if len(args) < 4 or args[0] != "verify-receipt" or not all(_plain(a) for a in args):
        return None
    if any(k.startswith("TILSYN_") and not _plain(v) for k, v in os.environ.items()):
        return None  # the full command names the bad variable
    files, policy, as_json, rest = [], None, False, iter(args[1:])
    for arg in rest:
        if arg == "--json" and not as_json:
            as_json = True
        elif arg == "--policy" and policy is None:
            policy = next(rest, None)
            if policy is None or policy.startswith("-"):
                return None
        elif arg.startswith("--policy=") and policy is None:
            policy = arg[len("--policy="):]
        elif arg.startswith("-") or files:
            return None
        else:
            files.append(arg)
    if len(files) != 1 or not policy or any(os.path.isdir(p) for p in (files[0], policy)):
        return None  # click's own messages for a missing argument or a directory
    return files[0], policy, as_json


def _plain(text: str) -> bool:
    """Valid UTF-8 without NUL (the full command refuses anything else with its own message)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
