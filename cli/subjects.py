"""Personal data: list data subjects, erase one (GDPR art. 17) while every proof stays valid."""

from __future__ import annotations

from collections import Counter

import click
from rich.text import Text
from rich.table import Table

from tilsyn.ledger.policy import SUBJECT_ERASED, SUBJECT_FIELD, SUBJECTS_STREAM

from .context import AppContext, pass_app
from .output import console, emit_json, visible
from .timeview import local_time
from .recording import recording
from tilsyn.standards.service import occurred


@click.command()
@click.argument("subject")
@click.option("--reason", required=True, help="The legal reason, e.g. 'GDPR art. 17' (recorded in the ledger).")
@recording
@pass_app
def erase(app: AppContext, subject: str, reason: str, occurred_at: str | None, as_json: bool) -> None:
    """Erase SUBJECT's personal data by destroying their key (as tilsynsleder or admin).

    The events stay as they are and still verify; their personal fields can never be read again.
    """
    ledger = app.ledger()
    event = ledger.erase_subject(app.signer(), subject, reason, occurred_at=occurred(occurred_at))
    warning = ledger.vault.scrub_warning
    if as_json:
        emit_json(event.to_dict() | {"storage_warning": warning})
        return
    console.print(f"seq {event.seq}: personal data about {subject} erased ({reason}); the key is destroyed", markup=False)
    if warning:
        console.print(f"warning: {warning}", markup=False)


@click.group()
def subjects() -> None:
    """Data subjects (citizens, staff …) whose personal data the ledger holds in sealed form."""


@subjects.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def subjects_list(app: AppContext, as_json: bool) -> None:
    """Subjects, how many events mention each, and whether erased."""
    ledger = app.ledger()
    mentions: Counter[str] = Counter()
    first_seen: dict[str, str] = {}
    erasures = {}  # subject → its signed erasure event: only that says "slettet", never the key row alone
    for e in ledger.read():
        subject = e.payload.get(SUBJECT_FIELD)
        if isinstance(subject, str) and e.stream.startswith("tilbud/"):
            mentions[subject] += 1
            first_seen.setdefault(subject, e.recorded_at)
        if e.type == SUBJECT_ERASED and e.stream == SUBJECTS_STREAM and isinstance(e.payload.get("subject"), str):
            erasures.setdefault(e.payload["subject"], e)
    rows = []
    keys = {r.subject: r for r in ledger.vault.subjects()}
    for subject in sorted(set(mentions) | set(keys)):
        erased = erasures.get(subject)
        rows.append({"subject": subject, "events": mentions.get(subject, 0), "first_recorded_at": first_seen.get(subject),
                     "erased": erased is not None,
                     "erased_at": erased.recorded_at if erased is not None else None,
                     "erase_reason": erased.payload.get("reason") if erased is not None else None,
                     "erase_seq": erased.seq if erased is not None else None,
                     "key_missing": erased is None and (keys.get(subject) is None or keys[subject].wrapped is None)})
    if as_json:
        emit_json(rows)
        return
    table = Table("subject", "events", "first recorded", "status", box=None, header_style="bold")
    for r in rows:
        if r["erased"]:
            status = Text.assemble((f"slettet {local_time(r['erased_at'])}", "red"),
                                   f" ({visible(r['erase_reason'])}, seq {r['erase_seq']})")
        elif r["key_missing"]:  # no signed erasure, yet no key: damage ('tilsyn verify' names it)
            status = Text("nøglen mangler uden en slettehændelse (kør 'tilsyn verify')", style="red")
        else:
            status = Text("læsbar", style="green")
        table.add_row(r["subject"], str(r["events"]), local_time(r["first_recorded_at"]), status)
    console.print(table)
    if not rows:
        console.print("(no data subjects)")


COMMANDS = [erase, subjects]
