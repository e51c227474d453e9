"""``tilsyn.toml``: the operator's settings file, read strictly.

A misspelt table or key is an error that names it — silently ignoring ``[setings]`` would run the
supervision with thresholds the operator believes they changed. The shape is a msgspec Struct (types
are the schema); the values of ``[settings]`` are checked against the defaults the plugins declare
(see ``tilsyn.plugins.manager.check_settings``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tilsyn.plugins.manager import PluginError


class WitnessTable(msgspec.Struct, forbid_unknown_fields=True):
    """``[witness]``: the C2SP tlog-policy file whose quorum checkpoints must meet."""

    policy: str


class SettingsFile(msgspec.Struct, forbid_unknown_fields=True):
    """The whole file: ``[settings]`` ("plugin.key" = value) and ``[witness]``."""

    settings: dict[str, Any] = {}
    witness: WitnessTable | None = None


def load_config(path: str | Path) -> SettingsFile:
    """The settings file at ``path`` (an empty one if there is none); a malformed file, an unknown
    table or key, or a value of the wrong type is a :class:`PluginError` naming it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SettingsFile()
    except OSError as e:
        raise PluginError(f"cannot read {path}: {e.strerror}") from None
    try:
        return msgspec.toml.decode(raw, type=SettingsFile)
    except msgspec.ValidationError as e:
        raise PluginError(f"{path}: {_explain(str(e))}") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as e:
        raise PluginError(f"{path}: not valid TOML: {e}") from None


def _explain(message: str) -> str:
    # msgspec says "Object contains unknown field `setings`"; say it in the file's terms.
    if message.startswith("Object contains unknown field"):
        name = message.split("`", 2)[1] if "`" in message else "?"
        where = message.split(" - at `$.", 1)[1].rstrip("`") if " - at `$." in message else ""
        known = "settings, witness" if not where else "policy"
        return f"unknown {'table' if not where else 'key'} {name!r}{f' in [{where}]' if where else ''} (known: {known})"
    return message.replace("$.", "")
