"""Which event types exist, which roles may sign them, and what their payloads must look like.

The kernel knows only its own key events. Everything else is registered from above (the plugins),
so the kernel stays free of any particular domain. An event type nobody registered is refused on
append and reported by verification.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import msgspec

from .errors import ValidationError
from .heads import STREAM_HEADS, StreamHeadsPayload
from .identity import GENESIS, KEY_REGISTERED, KEY_REVOKED, KEY_ROTATED, LEDGER_KEY_ROTATED, ROLE_GRANTED
from .readers import GROUP_KEY, READER_KEY, READER_ROLES, GroupKeyPayload, ReaderKeyPayload
from .rules import KERNEL_TYPE_ROLES, RULES_IN_FORCE, RulesPayload, rules_bytes, rules_payload

SUBJECT_ERASED = "ledger.SubjectErased/1"
SUBJECTS_STREAM = "ledger/subjects"
SUBJECT_FIELD = "subject"
"""The payload field naming the data subject whose personal fields an event carries."""


class LedgerKeyRotated(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The ledger's log key hands over to a new one (signed by the old; ``proof`` signed by the new)."""

    previous_key_id: str
    key_id: str
    public_key: str
    proof: str


class KeyRotated(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A person's key hands over to their new one (signed by the old; ``proof`` signed by the new)."""

    name: str
    previous_key_id: str
    key_id: str
    public_key: str
    proof: str
    x25519_public_key: str | None = None


class SubjectErased(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A data subject's key was destroyed; their personal data can no longer be read."""

    subject: str
    reason: str


@functools.lru_cache(maxsize=None)  # msgspec.inspect is slow (~0.4 ms) and this runs for every statement
def personal_fields(schema: type | None) -> tuple[str, ...]:
    """Fields a schema marks as personal with ``msgspec.Meta(extra={"personal": True})``."""
    if schema is None:
        return ()
    out = []
    for f in msgspec.inspect.type_info(schema).fields:
        t = f.type
        while True:
            if isinstance(t, msgspec.inspect.Metadata):
                if (t.extra or {}).get("personal"):
                    out.append(f.name)
                    break
                t = t.type
            elif isinstance(t, msgspec.inspect.UnionType):
                nested = [x for x in t.types if isinstance(x, msgspec.inspect.Metadata)]
                if nested and (nested[0].extra or {}).get("personal"):
                    out.append(f.name)
                break
            else:
                break
    return tuple(out)


@dataclass(frozen=True)
class EventType:
    """An event type: its name, the roles of which the signer must hold one, and its payload schema."""

    name: str
    roles: frozenset[str]
    schema: type | None = None
    description: str = ""
    owner: str = "ledger"

    @cached_property
    def personal_fields(self) -> tuple[str, ...]:
        """Payload fields sealed for the event's data subject (see personal.py)."""
        return personal_fields(self.schema)


class Policy:
    """A registry of event types. Build one per ledger; plugins add their types to it."""

    def __init__(self) -> None:
        self.types: dict[str, EventType] = {}
        # What else the rules in force consist of, recorded with them (rules.py): the plugin layer sets
        # {"plugins": {name: version}, "standards": {id: version}}.
        self.components: dict[str, dict[str, str]] = {}
        self._rules: tuple[dict[str, Any], bytes] | None = None
        # The kernel's own types: their roles are fixed by the format (rules.KERNEL_TYPE_ROLES).
        kernel = KERNEL_TYPE_ROLES
        for name in (GENESIS, KEY_REGISTERED, ROLE_GRANTED, KEY_REVOKED):
            self.register(EventType(name, kernel[name], description="key management"))
        self.register(EventType(SUBJECT_ERASED, kernel[SUBJECT_ERASED], SubjectErased,
                                description="erasure of a data subject's personal data"))
        self.register(EventType(RULES_IN_FORCE, kernel[RULES_IN_FORCE], RulesPayload,
                                description="the event types, roles and plugin versions in force"))
        # Only the ledger's log key (pseudo-role ``ledger``) commits to the heads and hands itself over.
        self.register(EventType(STREAM_HEADS, kernel[STREAM_HEADS], StreamHeadsPayload,
                                description="every stream's last event, committed to by the next checkpoint"))
        self.register(EventType(LEDGER_KEY_ROTATED, kernel[LEDGER_KEY_ROTATED], LedgerKeyRotated,
                                description="rotation of the ledger's log key"))
        # Any person's key may hand itself over (the registry checks it is the key named as previous).
        self.register(EventType(KEY_ROTATED, kernel[KEY_ROTATED], KeyRotated, description="rotation of a person's key"))

    def register(self, event_type: EventType) -> None:
        """Add an event type; registering one name twice with different rules is an error."""
        old = self.types.get(event_type.name)
        if old is not None and old != event_type:
            raise ValueError(f"event type {event_type.name} is registered twice ({old.owner}, {event_type.owner})")
        self.types[event_type.name] = event_type
        self._rules = None
        if event_type.personal_fields and READER_KEY not in self.types:
            # Where events carry personal data, only readers with their own keys open it (readers.py).
            self.register(EventType(READER_KEY, READER_ROLES, ReaderKeyPayload,
                                    description="a reader's X25519 key, signed by their own key"))
            self.register(EventType(GROUP_KEY, READER_ROLES, GroupKeyPayload,
                                    description="a new epoch of the reader group key, wrapped to each permitted reader"))

    def set_components(self, **components: dict[str, str]) -> None:
        """Record which plugin and standard versions these rules come from (part of the rules in force)."""
        self.components = {k: dict(v) for k, v in components.items()}
        self._rules = None

    def rules(self) -> tuple[dict[str, Any], bytes]:
        """The RulesInForce payload of this policy and its canonical bytes (cached until it changes)."""
        if self._rules is None:
            payload = rules_payload(self)
            self._rules = (payload, rules_bytes(payload))
        return self._rules

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
