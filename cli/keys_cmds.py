"""Key management: identities are events in the ledger's own ``ledger/keys`` stream."""

from __future__ import annotations

import click
from rich.text import Text
from rich.table import Table

from tilsyn.ledger import ROLES

from .context import AppContext, pass_app
from .output import console, emit_json, visible


@click.group()
def keys() -> None:
    """Register, grant, revoke and list the keys of the people who record."""


@keys.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Role of the new key (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def add(app: AppContext, name: str, roles: tuple[str, ...], as_json: bool) -> None:
    """Make a key pair for NAME, keep the private key in the key home, register it (as an admin)."""
    ledger = app.ledger()
    info, path = ledger.register_key(app.signer(), name, list(roles), app.keystore, passphrase=app.passphrase)
    if as_json:
        emit_json(info.to_dict() | {"key_file": path})
        return
    console.print(Text.assemble(f"Registered key {info.key_id} for ", (visible(name), "bold"), f" ({', '.join(sorted(info.roles))}) at seq "
                  f"{info.registered_seq}; private key: {visible(path)}"))


@keys.command("grant")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Role to grant.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def grant(app: AppContext, name: str, role: str, as_json: bool) -> None:
    """Grant another role to NAME's active key (as an admin)."""
    event = app.ledger().grant_role(app.signer(), name, role)
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"Granted {role} to {name} at seq {event.seq}")


@keys.command("revoke")
@click.argument("name")
@click.option("--reason", required=True, help="Why the key is revoked (recorded in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def revoke(app: AppContext, name: str, reason: str, as_json: bool) -> None:
    """Revoke NAME's active key (as an admin). What it signed before stays valid."""
    event = app.ledger().revoke_key(app.signer(), name, reason)
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"Revoked key {event.payload['key_id']} of {name} at seq {event.seq}")


@keys.command("rotate-ledger")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def rotate_ledger(app: AppContext, as_json: bool) -> None:
    """Replace the ledger's log key (as an admin, in the authority's key home).

    A new key pair is made in this key home; the current log key signs the hand-over and the new key
    proves possession of itself. From then on only the new key signs checkpoints; the old one stays
    valid for the checkpoints it signed before.
    """
    app.log_signer()  # an admin acting, and the current log key in this key home
    event = app.ledger().rotate_ledger_key(app.keystore, app.passphrase)
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"Rotated the ledger's log key {event.payload['previous_key_id']} to {event.payload['key_id']} "
                  f"at seq {event.seq}; run 'tilsyn checkpoint --vkey' and give witnesses the new key")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def list_keys(app: AppContext, as_json: bool) -> None:
    """List every key ever registered, with roles and status."""
    registry = app.ledger().registry()
    infos = sorted(registry.keys.values(), key=lambda k: k.registered_seq)
    if as_json:
        emit_json([i.to_dict() for i in infos])
        return
    table = Table("name", "key id", "roles", "registered", "status", box=None, header_style="bold")
    for i in infos:
        status = (Text.assemble((f"revoked at seq {i.revoked_seq}", "red"), f": {visible(i.revoke_reason)}")
                  if i.revoked_seq else Text("active", style="green"))
        table.add_row(i.actor, i.key_id, ", ".join(sorted(i.roles)), f"seq {i.registered_seq}", status)
    console.print(table)


COMMANDS = [keys]
