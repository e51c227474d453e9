"""Signed checkpoints: the authority commits to the ledger's current size and root."""

from __future__ import annotations

import click

from tilsyn.ledger.checkpoints import create_checkpoint, latest_checkpoint

from .context import AppContext, pass_app
from .output import console, emit_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the note included).")
@pass_app
def checkpoint(app: AppContext, as_json: bool) -> None:
    """Sign the current tree size and root with the authority's genesis key and store the checkpoint.

    Run it as the authority (--as NAME of the ledger's genesis key). The checkpoint is a C2SP
    tlog-checkpoint in a signed note; 'tilsyn verify' checks every stored one.
    """
    ledger = app.ledger()
    before = latest_checkpoint(ledger)
    cp = create_checkpoint(ledger, app.signer())
    fresh = before is None or before.id != cp.id
    if as_json:
        emit_json(cp.to_dict() | {"new": fresh})
        return
    if fresh:
        console.print(f"Checkpoint #{cp.id}: {cp.size} events, root {cp.root.hex()}")
    else:
        console.print(f"Checkpoint #{cp.id} already covers all {cp.size} events (root {cp.root.hex()})")
    console.print(cp.note, end="", markup=False)


COMMANDS = [checkpoint]
