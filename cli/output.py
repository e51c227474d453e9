"""Output helpers: rich on a terminal for people, plain JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Piped output is not cut at 80 columns: a script or a log file should get whole lines.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (UTF-8, Danish letters kept as they are)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = 2) -> None:
    """Print one clear line to stderr and exit with ``code`` (2: refused or bad input)."""
    sys.stderr.write(f"tilsyn: error: {message}\n")
    raise SystemExit(code)
