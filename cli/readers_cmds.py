"""Readers of personal data: each with their own X25519 key; the reader group key wrapped to each of them."""

from __future__ import annotations

import click
from rich.table import Table

from .context import AppContext, pass_app
from .output import console, emit_json


@click.group()
def readers() -> None:
    """Who can open personal data: reader keys and the reader group's key (tilsynskonsulent, tilsynsleder)."""


@readers.command("register")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def register(app: AppContext, as_json: bool) -> None:
    """Make your own reader key (X25519) in your key home and register it, signed by your own key (--as NAME).

    After enrollment a tilsynskonsulent or tilsynsleder runs this once; a current reader then runs
    'tilsyn readers rotate' (or records personal data, which rotates) so that the group key reaches you.
    """
    ledger = app.ledger()
    event = ledger.readers.register(app.signer(), app.keystore, app.passphrase)
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"seq {event.seq}: reader key of {app.actor} registered (the private key stays in "
                  f"{app.keystore.home / 'keys'})", markup=False)


@readers.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def rotate(app: AppContext, as_json: bool) -> None:
    """Give the reader group a new key, wrapped to every permitted reader now (as a reader, --as NAME).

    A reader who was removed (revoked, or no longer in a reading role) cannot open what is sealed after
    this. Recording personal data rotates by itself when the group is out of date.
    """
    ledger = app.ledger()
    event = ledger.readers.rotate(app.signer())
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"seq {event.seq}: reader group epoch {event.payload['epoch']} for "
                  f"{len(event.payload['members'])} reader(s)", markup=False)


@readers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_readers(app: AppContext, as_json: bool) -> None:
    """Reader keys, the group's epochs and their members, and whether the newest epoch is current."""
    ledger = app.ledger()
    state = ledger.readers.state()
    registry = ledger.registry()
    current = state.current()
    name = {kid: info.actor for kid, info in registry.keys.items()}
    rows = [{"name": name.get(kid, "?"), "key_id": kid, "registered_seq": seq,
             "member_of_current_epoch": bool(current and kid in current.members)}
            for kid, (_, seq) in sorted(state.reader_keys.items(), key=lambda kv: kv[1][1])]
    epochs = [{"epoch": e.epoch, "seq": e.seq, "signed_by": name.get(e.signer, e.signer),
               "members": sorted(name.get(k, k) for k in e.members), "problem": e.problem} for e in state.epochs]
    stale = ledger.readers.stale(state)
    if as_json:
        emit_json({"readers": rows, "epochs": epochs, "stale": stale})
        return
    table = Table("name", "key id", "reader key", "in current epoch", box=None, header_style="bold")
    for r in rows:
        table.add_row(r["name"], r["key_id"], f"seq {r['registered_seq']}", "ja" if r["member_of_current_epoch"] else "nej")
    console.print(table)
    for e in epochs:
        console.print(f"epoch {e['epoch']} (seq {e['seq']}, {e['signed_by']}): {', '.join(e['members'])}"
                      + (f" — unusable: {e['problem']}" if e["problem"] else ""), markup=False)
    console.print(f"out of date: {stale}" if stale else "the newest epoch holds exactly the permitted readers",
                  markup=False)


COMMANDS = [readers]
