"""Which event types exist, which roles may sign them, and what their payloads must look like.

The kernel knows only its own key events. Everything else is registered from above (the plugins),
so the kernel stays free of any particular domain. An event type nobody registered is refused on
append and reported by verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from .errors import ValidationError
from .identity import GENESIS, KEY_REGISTERED, KEY_REVOKED, ROLE_GRANTED


@dataclass(frozen=True)
class EventType:
    """An event type: its name, the roles of which the signer must hold one, and its payload schema."""

    name: str
    roles: frozenset[str]
    schema: type | None = None
    description: str = ""
    owner: str = "ledger"


class Policy:
    """A registry of event types. Build one per ledger; plugins add their types to it."""

    def __init__(self) -> None:
        self.types: dict[str, EventType] = {}
        for name in (GENESIS, KEY_REGISTERED, ROLE_GRANTED, KEY_REVOKED):
            self.register(EventType(name, frozenset({"admin"}), description="key management"))

    def register(self, event_type: EventType) -> None:
        """Add an event type; registering one name twice with different rules is an error."""
        old = self.types.get(event_type.name)
        if old is not None and old != event_type:
            raise ValueError(f"event type {event_type.name} is registered twice ({old.owner}, {event_type.owner})")
        self.types[event_type.name] = event_type

    def get(self, name: str) -> EventType:
        try:
            return self.types[name]
        except KeyError:
            raise ValidationError(f"unknown event type {name!r}") from None

    def validate_payload(self, name: str, payload: dict[str, Any]) -> None:
        """Check the payload against the type's msgspec schema, with a message naming the field."""
        schema = self.get(name).schema
        if schema is None:
            return
        try:
            msgspec.convert(payload, schema, strict=True)
        except msgspec.ValidationError as e:
            raise ValidationError(f"{name}: {e}") from None


PayloadCheck = Callable[[str, dict[str, Any]], None]
