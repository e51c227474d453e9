"""The list of hjemler a decision may cite: plugin data plus the operator's own file.

No hjemmel text is written in code. The built-in list (``hjemler.yaml`` beside this module) is empty; the
operator supplies theirs through the setting ``supervision.hjemler_fil`` (a YAML file of the same shape).
When both are empty, a hjemmel is still required but not checked against a list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tilsyn.ledger import ValidationError

BUILT_IN = Path(__file__).with_name("hjemler.yaml")


class Hjemmel(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    hjemmel: str
    afgoerelser: list[str] = []


class HjemmelList(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    hjemler: list[Hjemmel] = []


def _read(path: Path) -> list[Hjemmel]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ValidationError(f"hjemmelslisten {path} kan ikke læses: {e.strerror}") from None
    try:
        return list(msgspec.yaml.decode(data, type=HjemmelList).hjemler)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise ValidationError(f"hjemmelslisten {path} er ugyldig: {e}") from None


def hjemler(settings: dict[str, Any]) -> list[Hjemmel]:
    """Every listed hjemmel: the plugin's data, then the operator's file (if set)."""
    out = _read(BUILT_IN)
    extra = str(settings.get("supervision.hjemler_fil") or "").strip()
    if extra:
        out += _read(Path(extra))
    return out


def allowed_for(kind: str, settings: dict[str, Any]) -> list[str] | None:
    """The hjemler listed for ``kind`` (None: no list exists, any hjemmel text is accepted)."""
    entries = hjemler(settings)
    if not entries:
        return None
    return [h.hjemmel for h in entries if not h.afgoerelser or kind in h.afgoerelser]
