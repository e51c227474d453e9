"""The console entry point (``tilsyn``, ``python -m tilsyn``): the full command layer, except for the
offline checks, which must answer at once.

``tilsyn verify-receipt FILE --policy POLICY [--json]`` and ``tilsyn verify-bundle FILE [--policy POLICY]
[--json]`` are what a tilbud or its lawyer runs on the evidence they keep, perhaps over a folder of it:
they are answered here by :mod:`tilsyn.cli.receipt_check` and :mod:`tilsyn.cli.bundle_check`, with only
hashing, Ed25519, strict JSON and the note, policy and proof parsers loaded — no click, rich, SQLAlchemy,
pluggy or Jinja2. Only a command line that is exactly such a shape takes this path; anything else (help,
global options, another command, a receipt policy from tilsyn.toml, an argument click would refuse) goes
to :func:`tilsyn.cli.main.main`, which gives the same answers and the same exit codes.
"""

from __future__ import annotations

import importlib
import os
import sys


def main() -> None:
    """Console entry point."""
    args = sys.argv[1:]
    check = _offline_check(args)
    if check is not None:
        module, file, policy, as_json = check
        try:
            code = importlib.import_module(f"{__package__}.{module}").run(file, policy, as_json)
            sys.stdout.flush()
        except SystemExit:
            raise
        except BaseException as e:  # noqa: BLE001 - one line, as the full command prints it
            from .errors import exit_for

            raise exit_for(e) from None
        raise SystemExit(code)
    from .main import main as full

    full()


# Command → (the module that checks it offline, whether --policy is required on this path).
OFFLINE = {"verify-receipt": ("receipt_check", True), "verify-bundle": ("bundle_check", False)}


def _offline_check(args: list[str]) -> tuple[str, str, str | None, bool] | None:
    """``(module, file, policy, as_json)`` if ``args`` is a plain ``verify-receipt FILE --policy P [--json]``
    or ``verify-bundle FILE [--policy P] [--json]``; else ``None`` (the full command answers)."""
    if not args or args[0] not in OFFLINE or not all(_plain(a) for a in args):
        return None
    module, policy_required = OFFLINE[args[0]]
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
    if len(files) != 1 or (policy_required and not policy) or policy == "":
        return None
    if any(os.path.isdir(p) for p in (files[0], policy) if p is not None):
        return None  # click's own messages for a missing argument or a directory
    return module, files[0], policy, as_json


def _plain(text: str) -> bool:
    """Valid UTF-8 without NUL (the full command refuses anything else with its own message)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
