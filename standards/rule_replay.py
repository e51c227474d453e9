"""``verify --rules``: replay the guards in force at each event and report every event they would refuse.

Guards run in the service layer when an event is recorded; the kernel does not know them. So a person with
a valid key can append, through the kernel API, an event that a guard would have refused — and the hash
chain, the signatures and the proofs all verify. This module closes that gap for verification: it folds
every tilbud stream from the stored events, exactly as recording does (each event against the state its
predecessors leave, a correction's replacement against the state with the corrected event withdrawn), and
runs every applicable guard of the installed plugins.

*Which* rules: the plugin versions in force at an event are read from what the ledger recorded — the latest
``ledger.RulesInForce/1`` event before it (stream ``ledger/policy``), else the ``rule_versions`` of the
latest decision before it on the same stream. A guard of a plugin whose recorded version differs from the
installed one cannot be replayed faithfully: the event is reported as *not replayed* for that plugin,
never silently passed or failed. Where nothing was recorded, the installed rules judge, and the report says
so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from tilsyn.ledger import LedgerError
from tilsyn.ledger.personal import is_sealed

from . import events as ev
from .projection import EventView, TilbudState, apply, dump, load

RULES_IN_FORCE = "ledger.RulesInForce/1"


@dataclass(frozen=True)
class Breach:
    """An event a guard in force would have refused."""

    seq: int
    stream: str
    type: str
    plugin: str
    rule: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "stream": self.stream, "type": self.type, "plugin": self.plugin, "rule": self.rule,
                "reason": self.reason}


@dataclass
class RuleReport:
    """What replaying the guards found."""

    events: int = 0  # domain events replayed
    breaches: list[Breach] = field(default_factory=list)
    not_replayed: list[dict[str, Any]] = field(default_factory=list)  # version mismatch or unknown type
    versions_recorded: bool = False

    @property
    def ok(self) -> bool:
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "breaches": [b.to_dict() for b in self.breaches],
                "not_replayed": self.not_replayed, "versions_recorded": self.versions_recorded}


def _reveal(ledger, payload: dict[str, Any], stream: str, stream_version: int) -> dict[str, Any]:
    """Personal fields in clear for the guards (in memory only); an erased one stays sealed."""
    out = {}
    for name, value in payload.items():
        if is_sealed(value):
            try:
                value = ledger.reveal(value, stream, stream_version, name)
            except LedgerError:
                pass  # erased or unreadable: guards that measure text skip sealed values
        out[name] = value
    return out


def replay_rules(ledger, plugins) -> RuleReport:
    """Replay every guard in force over every tilbud stream; see the module docstring."""
    report = RuleReport()
    installed = plugins.versions()
    recorded: dict[str, str] | None = None
    states: dict[str, TilbudState] = {}
    decided: dict[str, dict[str, str]] = {}
    for e in ledger.read():
        if e.type == RULES_IN_FORCE:
            plugins_in_force = e.payload.get("plugins")
            if isinstance(plugins_in_force, dict):
                recorded, report.versions_recorded = dict(plugins_in_force), True
            continue
        if not e.stream.startswith("tilbud/"):
            continue
        state = states.setdefault(e.stream, TilbudState())
        report.events += 1
        versions = recorded if recorded is not None else decided.get(e.stream)
        stmt = e.statement
        payload = _reveal(ledger, stmt.payload, e.stream, stmt.stream_version)
        stmt = msgspec.structs.replace(stmt, payload=payload)
        missing = _standard_missing(plugins.catalog, payload)
        if e.type not in ev.PAYLOAD_TYPES:
            report.not_replayed.append({"seq": e.seq, "reason": f"ukendt hændelsestype {e.type}"})
        elif missing:
            report.not_replayed.append({"seq": e.seq, "reason": missing})
        else:
            _check(stmt, state, plugins, versions, installed, report, e.seq, e.stream, e.type)
        apply(state, EventView(e.seq, e.type, e.payload, e.actor, e.occurred_at, e.recorded_at,
                               e.statement.stream_version))
        if e.type == ev.DECISION_ISSUED and isinstance(e.payload.get("rule_versions"), dict):
            decided[e.stream] = dict(e.payload["rule_versions"])
    return report


def _standard_missing(catalog, payload) -> str | None:
    """The event names a standard version that is not installed: its guards cannot be those it was made under."""
    sid, version = payload.get("standard"), payload.get("standard_version")
    if not sid or not version:
        return None
    try:
        catalog.get(sid, version)
    except KeyError:
        return f"standarden {sid} version {version}, som hændelsen er registreret under, er ikke installeret"
    return None


def _check(stmt, state, plugins, versions, installed, report, seq, stream, type_) -> None:
    skipped = set()
    for guard in plugins.guards:
        if not guard.applies_to(stmt.type):
            continue
        if versions is not None and guard.plugin in versions and versions[guard.plugin] != installed.get(guard.plugin):
            if guard.plugin not in skipped:
                skipped.add(guard.plugin)
                report.not_replayed.append({
                    "seq": seq, "plugin": guard.plugin,
                    "reason": f"plugin {guard.plugin} var version {versions[guard.plugin]} ved hændelsen; installeret "
                              f"er {installed.get(guard.plugin, 'ingen')}"})
            continue
        try:
            reason = guard.run(stmt, state, plugins.catalog, plugins.settings)
        except Exception as exc:  # a guard that cannot read a stored payload: say so, never crash verify
            reason = f"reglen kunne ikke anvendes på den lagrede hændelse ({type(exc).__name__})"
        if reason:
            report.breaches.append(Breach(seq, stream, type_, guard.plugin, guard.name, reason))
    replacement = stmt.payload.get("replacement") if stmt.type == ev.CORRECTION else None
    kind = state.types.get(stmt.payload.get("corrects")) if isinstance(replacement, dict) else None
    if kind is not None:
        # A correction is no way around a rule: its replacement faces the guards of the type it replaces.
        without = load(dump(state))
        without.withdrawn[stmt.payload["corrects"]] = -1
        _check(msgspec.structs.replace(stmt, type=kind, payload=replacement), without, plugins, versions, installed,
               report, seq, stream, type_)
