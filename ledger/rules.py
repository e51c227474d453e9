"""The rules in force, as signed events: which event types exist, who may sign them, and which plugin
and standard versions the ledger appended under.

A bundle's reader must not have to take the exporter's word for "a påbud needs a tilsynsleder". So the
ledger records its rules as ``ledger.RulesInForce/1`` events on stream ``ledger/policy``: at ``init``
(seq 2, right after the genesis event), and whenever the rules a writer has loaded differ from the last
recorded ones — then, in the same transaction and before the writer's own events, signed by that writer.
Every event is thereby judged against rules that are themselves in the log, covered by the checkpoint
and the heads map (see heads.py): ``verify-bundle`` checks each signer's role against the rules in force
at that event's position, and a dropped rules event shows as a gap in ``ledger/policy``.

Payload (object keys sorted as in every payload)::

    {"plugins": {"<plugin>": "<version>", ...},
     "standards": {"<standard id>@<version>": "<plugin>", ...},
     "types": {"<event type>": {"owner": "<plugin or 'ledger'>", "roles": ["<role>", ...]}, ...}}

``roles`` lists the roles of which the signer must hold one; an empty list means nobody may sign it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from . import canonical

if TYPE_CHECKING:
    from .policy import Policy

POLICY_STREAM = "ledger/policy"
RULES_IN_FORCE = "ledger.RulesInForce/1"

RULES_SIGNERS = frozenset({"admin", "tilsynskonsulent", "tilsynsleder", "tilbudsleder"})
"""Who may record the rules: anyone who appends authority-wide (a scoped role does not reach this stream)."""

KERNEL_TYPE_ROLES: dict[str, frozenset[str]] = {
    "ledger.Genesis/1": frozenset({"admin"}),
    "ledger.KeyRegistered/1": frozenset({"admin"}),
    "ledger.RoleGranted/1": frozenset({"admin"}),
    "ledger.KeyRevoked/1": frozenset({"admin"}),
    "ledger.KeyRotated/1": frozenset({"admin", "tilbudsleder", "tilsynskonsulent", "tilsynsleder"}),
    "ledger.LedgerKeyRotated/1": frozenset({"ledger"}),
    "ledger.StreamHeads/1": frozenset({"ledger"}),
    "ledger.SubjectErased/1": frozenset({"admin", "tilsynsleder"}),
    RULES_IN_FORCE: RULES_SIGNERS,
}
"""Who may sign the kernel's own types, fixed by the format: a RulesInForce event is signed by a person,
so if it could name these roles, whoever records the rules could let themselves register keys, commit
to the heads or erase. A recorded RulesInForce that lists one of them with other roles is malformed."""


class TypeRule(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    owner: str
    roles: list[str]


class RulesPayload(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The payload of a RulesInForce event."""

    plugins: dict[str, str]
    standards: dict[str, str]
    types: dict[str, TypeRule]


def rules_payload(policy: "Policy") -> dict[str, Any]:
    """The RulesInForce payload describing ``policy`` (its types, roles and recorded components)."""
    return canonical.normalise({
        "plugins": dict(sorted(policy.components.get("plugins", {}).items())),
        "standards": dict(sorted(policy.components.get("standards", {}).items())),
        "types": {name: {"owner": t.owner, "roles": sorted(t.roles)} for name, t in sorted(policy.types.items())},
    })


def rules_bytes(payload: dict[str, Any]) -> bytes:
    """Canonical bytes of a rules payload, for comparing what is loaded with what is recorded."""
    return canonical.encode(payload)


def decode_rules(payload: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Event type → roles from a recorded RulesInForce payload; ``ValueError`` if malformed."""
    try:
        p = msgspec.convert(payload, RulesPayload, strict=True)
    except msgspec.ValidationError as e:
        raise ValueError(f"the RulesInForce payload is malformed ({e})") from None
    out = {}
    for name, rule in p.types.items():
        if len(set(rule.roles)) != len(rule.roles) or rule.roles != sorted(rule.roles):
            raise ValueError(f"the roles of {name} are not a sorted list without repeats")
        fixed = KERNEL_TYPE_ROLES.get(name)
        if fixed is not None and frozenset(rule.roles) != fixed:
            raise ValueError(f"the roles of {name} are fixed by the format ({', '.join(sorted(fixed))}), "
                             f"not {', '.join(rule.roles) or 'none'}")
        out[name] = frozenset(rule.roles)
    return out
