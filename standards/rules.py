"""Rules that plugins contribute: guards refuse an event, finding rules report on a state.

A *guard* (værn) sees the proposed statement and the tilbud's state before it, and may refuse it with
a reason; the ledger then stays unchanged. A *finding rule* (fund) looks at a state and reports what a
careful supervisor would want pointed out, but never refuses anything: its findings are advice; the
supervisor's signed decision is the legal fact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

SEVERITIES = ("info", "advarsel", "alvorlig")


@dataclass(frozen=True)
class GuardRule:
    """A rule that may refuse an event. ``check(statement, state, catalog)`` returns a reason or None."""

    name: str
    description: str
    check: Callable[[Any, Any, Any], str | None]
    event_types: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    plugin: str = ""
    with_settings: bool = False
    """If true, ``check(statement, state, catalog, settings)`` also gets the merged plugin settings (operator
    overrides included), so a guard's threshold or mode can be set in tilsyn.toml."""

    def applies_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def run(self, statement: Any, state: Any, catalog: Any, settings: dict[str, Any]) -> str | None:
        """Call ``check`` with the arguments it takes."""
        if self.with_settings:
            return self.check(statement, state, catalog, settings)
        return self.check(statement, state, catalog)


@dataclass(frozen=True)
class Finding:
    """One reported observation about a state, with the seqs it rests on."""

    rule: str
    severity: str
    subject: str
    message: str
    seqs: tuple[int, ...] = ()
    plugin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "plugin": self.plugin, "severity": self.severity, "subject": self.subject,
                "message": self.message, "seqs": list(self.seqs)}


@dataclass(frozen=True)
class FindingRule:
    """A rule that reports. ``check(state, catalog, settings)`` yields :class:`Finding` objects."""

    name: str
    description: str
    check: Callable[[Any, Any, dict[str, Any]], Iterable[Finding]]
    references: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""
