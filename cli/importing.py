"""``tilsyn import FILE``: a whole visit (or any batch) from TOML or JSON, in one transaction.

The format is documented in docs/import-format.md. Every event is checked by the guards against the
state left by the events before it in the same file; if any is refused, nothing is written.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import click

from tilsyn.ledger import ValidationError
from tilsyn.standards import events as ev
from tilsyn.standards.service import occurred

from .choices import fold
from .context import AppContext, pass_app
from .output import console, emit_json

SHORT_TYPES = {
    "tilbud": ev.TILBUD_REGISTERED, "visit-started": ev.VISIT_STARTED, "visit-completed": ev.VISIT_COMPLETED,
    "visit-aborted": ev.VISIT_ABORTED, "observation": ev.OBSERVATION, "marker": ev.MARKER_ASSESSED,
    "criterion": ev.CRITERION_ASSESSED, "risk": ev.RISK, "decision": ev.DECISION_ISSUED,
    "decision-lifted": ev.DECISION_LIFTED, "decision-fulfilled": ev.DECISION_FULFILLED,
    "plan-item": ev.PLAN_ITEM_ADDED, "plan-revision": ev.PLAN_ITEM_REVISED, "plan-approval": ev.PLAN_APPROVED,
    "plan-result": ev.PLAN_RESULT, "indikator": ev.INDIKATOR_CHECKED, "monitoring": ev.MONITORING_COMPLETED,
    "correction": ev.CORRECTION, "oekonomi": ev.OEKONOMI_ASSESSED, "design-widened": ev.DESIGN_WIDENED,
}

# Enumerated values may be written as on the command line (ikke-til-stede, groen, paabud …).
_TERMS = {fold(t): t for t in (*ev.MARKER_VERDICTS, *ev.CRITERION_VERDICTS, *ev.RISK_COLOURS, *ev.DECISION_KINDS,
                               *ev.VISIT_KINDS, "døgntilbud", "dagtilbud", "ambulant", "krisecenter",
                               *ev.INTERVIEW_FORMS, *ev.INSTEAD_OF_INTERVIEW)}
_ENUM_FIELDS = ("verdict", "colour", "kind", "tilbud_type", "interview_form", "instead_of_interview")


def read_batch(path: Path) -> dict[str, Any]:
    """Parse a TOML or JSON import file into its top-level table."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValidationError(f"cannot read {path}: {e.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValidationError(f"{path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {e}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: the top level must be a table/object")
    return data


def batch_items(data: dict[str, Any], default_actor: str | None) -> list[tuple[str, str, str, dict[str, Any], str | None]]:
    """(actor, tilbud, type, payload, occurred_at) for each event in the file."""
    events = data.get("event", data.get("events"))
    if not isinstance(events, list) or not events:
        raise ValidationError("the file has no events: add [[event]] tables (TOML) or an \"events\" list (JSON)")
    unknown_top = set(data) - {"tilbud", "actor", "occurred_at", "event", "events", "description"}
    if unknown_top:
        raise ValidationError(f"unknown top-level keys: {', '.join(sorted(unknown_top))}")
    items = []
    for i, raw in enumerate(events, 1):
        if not isinstance(raw, dict):
            raise ValidationError(f"event {i}: must be a table/object")
        e = dict(raw)
        type_name = e.pop("type", None)
        if not type_name:
            raise ValidationError(f"event {i}: missing 'type' (one of {', '.join(SHORT_TYPES)})")
        type_ = SHORT_TYPES.get(type_name, type_name)
        if type_ not in ev.PAYLOAD_TYPES:
            raise ValidationError(f"event {i}: unknown type {type_name!r} (one of {', '.join(SHORT_TYPES)})")
        tilbud = e.pop("tilbud", None) or data.get("tilbud")
        actor = e.pop("actor", None) or data.get("actor") or default_actor
        when = e.pop("occurred_at", None) or data.get("occurred_at")
        if not tilbud:
            raise ValidationError(f"event {i}: no tilbud (set 'tilbud' at the top or on the event)")
        if not actor:
            raise ValidationError(f"event {i}: no actor (set 'actor' in the file or use --as)")
        if type_ == ev.TILBUD_REGISTERED:
            e.setdefault("tilbud", tilbud)
        for key in _ENUM_FIELDS:
            if isinstance(e.get(key), str):
                e[key] = _TERMS.get(fold(e[key]), e[key])
        try:
            when = occurred(str(when)) if when is not None else None
        except ValidationError as err:
            raise ValidationError(f"event {i}: {err}") from None
        items.append((actor, tilbud, type_, e, when))
    return items


@click.command("import")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the recorded events as JSON.")
@pass_app
def import_(app: AppContext, path: Path, as_json: bool) -> None:
    """Record a whole visit from FILE (TOML or JSON): one transaction, all or nothing.

    See docs/import-format.md. One person signs the whole file: the one given by --as, or else the one
    the file names. A file whose events name anyone else is refused — nobody signs in another's name.
    """
    from tilsyn.ledger.errors import AuthorizationError

    items = batch_items(read_batch(path), app.actor)
    named = sorted({actor for actor, *_ in items})
    person = app.actor or (named[0] if len(named) == 1 else None)
    others = [a for a in named if a != person]
    if person is None or others:
        raise AuthorizationError(
            f"the file names {', '.join(repr(a) for a in others or named)} as actor, but "
            + (f"it is imported by {person!r}" if person else "one file is signed by one person")
            + "; each person imports their own events; nothing was recorded")
    ledger = app.ledger()
    signers = {person: ledger.signer(person, app.keystore, app.passphrase)}
    sup = app.supervision()
    events = sup.record_many([(signers[a], t, ty, p, w) for a, t, ty, p, w in items])
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    console.print(f"imported {len(events)} events from {path} (seq {events[0].seq}–{events[-1].seq})")


COMMANDS = [import_]
