"""The witness policy of this installation: ``[witness] policy = "FILE"`` in tilsyn.toml.

The file is C2SP tlog-policy text (see :mod:`tilsyn.ledger.tlog_policy`); a relative path is read from
the directory of tilsyn.toml. ``--policy FILE`` on a command overrides it.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from tilsyn.ledger.errors import LedgerError

_ZONE = ZoneInfo("Europe/Copenhagen")


def policy_path(settings_file: str | Path | None = None) -> Path | None:
    """The policy file named in tilsyn.toml's ``[witness]`` table, or ``None`` (the file is read strictly)."""
    from tilsyn.plugins.manager import PluginError

    from .config import load_config
    from .context import SETTINGS_FILE

    path = Path(settings_file if settings_file is not None else SETTINGS_FILE)
    try:
        config = load_config(path)
    except PluginError as e:
        raise LedgerError(str(e)) from None
    if config.witness is None:
        return None
    return path.parent / config.witness.policy


def load_policy(explicit: str | None = None, *, required: bool = False):
    """The policy from ``explicit`` (a path) or tilsyn.toml; ``None`` if neither and not ``required``."""
    from tilsyn.ledger.tlog_policy import PolicyError, parse_policy

    path = Path(explicit) if explicit else policy_path()
    if path is None:
        if required:
            raise LedgerError("no witness policy: give --policy FILE or set [witness] policy = \"FILE\" in tilsyn.toml")
        return None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LedgerError(f"cannot read the witness policy {path}: {e.strerror}") from None
    try:
        return parse_policy(data)
    except PolicyError as e:
        raise LedgerError(f"witness policy {path}: {e}") from None


def local_time(timestamp: int | None) -> str:
    """A POSIX timestamp as Danish local time with its zone visible."""
    from datetime import datetime

    if timestamp is None:
        return "(uden tidsstempel)"
    try:
        moment = datetime.fromtimestamp(timestamp, _ZONE)
    except (OverflowError, OSError, ValueError):
        return f"(tidsstempel {timestamp} uden for kalenderen)"
    return moment.strftime("%d.%m.%Y kl. %H:%M:%S %Z")
