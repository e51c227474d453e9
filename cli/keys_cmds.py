"""Key management: identities are events in the ledger's own ``ledger/keys`` stream."""

from __future__ import annotations

import click
from rich.text import Text
from rich.table import Table

from tilsyn.ledger import ROLES

from .context import AppContext, pass_app
from .output import console, emit_json, fail, visible


@click.group()
def keys() -> None:
    """Register, grant, revoke and list the keys of the people who record."""


_TILBUD = click.option("--tilbud", "tilbud", multiple=True, metavar="ID",
                       help="Limit the role to this tilbud (repeatable), e.g. a tilbudsleder to T-1001.")


@keys.command("generate")
@click.argument("name")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), metavar="REQUEST-FILE",
              help="Where to write the enrollment request (public; give it to an admin).")
@click.option("--ledger-id", metavar="ID", help="The ledger the key is for (default: the ledger at --db).")
@click.option("--origin", metavar="ORIGIN", help="That ledger's origin (default: the ledger at --db).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def generate(app: AppContext, name: str, out: str, ledger_id: str | None, origin: str | None, as_json: bool) -> None:
    """Make your own key pair in your own key home and write an enrollment request for it.

    Run it on your own machine, with your own key home (--home) and passphrase ($TILSYN_PASSPHRASE):
    the private key never leaves it. The request holds your name, the public key, the ledger it is
    for and a proof that you hold the key; an admin registers it with
    'tilsyn keys add NAME --role ROLE --request REQUEST-FILE'.
    """
    import os

    from tilsyn.ledger import keys as keymod
    from tilsyn.ledger.enrollment import make_request

    if ledger_id is None or origin is None:
        ledger = app.ledger()
        ledger_id, origin = ledger_id or ledger.ledger_id, origin or ledger.origin
    private = keymod.generate()
    data = make_request(private, name, ledger_id, origin)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        fail(f"{out} exists already; choose another --out")
    path = app.keystore.save(private, app.passphrase)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    kid = keymod.key_id(keymod.public_bytes(private))
    if as_json:
        emit_json({"name": name, "key_id": kid, "request": out, "key_file": str(path), "ledger_id": ledger_id})
        return
    console.print(Text.assemble("Key request for ", (visible(name), "bold"), f" (key {kid}) written to {visible(out)}; "
                                f"your private key stays in {visible(str(path))}"))


@keys.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Role of the new key (repeatable).")
@_TILBUD
@click.option("--request", "request", type=click.Path(exists=True, dir_okay=False), metavar="REQUEST-FILE",
              help="The person's enrollment request from 'tilsyn keys generate' (the production path).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def add(app: AppContext, name: str, roles: tuple[str, ...], tilbud: tuple[str, ...], request: str | None,
        as_json: bool) -> None:
    """Register NAME's key with ROLE (as an admin).

    With --request: the key NAME made in their own key home ('tilsyn keys generate'); the admin never
    holds it. Without --request (NOT FOR PRODUCTION — demo and tests only): the key pair is made here, in
    the admin's key home, so the admin could sign as NAME.
    """
    from pathlib import Path

    ledger = app.ledger()
    if request is not None:
        info = ledger.register_request(app.signer(), Path(request).read_bytes(), list(roles), name=name,
                                       tilbud=list(tilbud))
        path = None
    else:
        info, path = ledger.register_key(app.signer(), name, list(roles), app.keystore, passphrase=app.passphrase,
                                         tilbud=list(tilbud))
    if as_json:
        emit_json(info.to_dict() | {"key_file": path})
        return
    where = f"private key: {visible(path)} (made in the admin's home: not for production)" if path else \
        "the private key stays with its owner"
    console.print(Text.assemble(f"Registered key {info.key_id} for ", (visible(info.actor), "bold"),
                                f" ({_roles_text(info)}) at seq {info.registered_seq}; {where}"))


def _roles_text(info) -> str:
    return ", ".join(f"{r} for {', '.join(sorted(info.scopes[r]))}" if r in info.scopes else r
                     for r in sorted(info.roles))


@keys.command("grant")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Role to grant.")
@_TILBUD
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def grant(app: AppContext, name: str, role: str, tilbud: tuple[str, ...], as_json: bool) -> None:
    """Grant another role to NAME's active key (as an admin), authority-wide or for --tilbud only."""
    event = app.ledger().grant_role(app.signer(), name, role, tilbud=list(tilbud))
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(f"Granted {role} to {name}" + (f" for {', '.join(sorted(set(tilbud)))}" if tilbud else "")
                  + f" at seq {event.seq}")


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


@keys.command("rotate")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def rotate(app: AppContext, as_json: bool) -> None:
    """Replace your own key (--as NAME) by a new one made in your key home.

    Your current key signs the hand-over and the new key proves that you hold it; your roles carry over
    and the old key is revoked from then on (what it signed before stays valid). A name never has two
    active keys: this is the only way to get a new one without a revocation first.
    """
    event, new = app.ledger().rotate_key(app.signer(), app.keystore, app.passphrase)
    if as_json:
        emit_json(event.to_dict())
        return
    console.print(Text.assemble("Rotated the key of ", (visible(new.actor), "bold"),
                                f" from {event.payload['previous_key_id']} to {new.key_id} at seq {event.seq}"))


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
        table.add_row(visible(i.actor), i.key_id, _roles_text(i), f"seq {i.registered_seq}", status)
    console.print(table)


COMMANDS = [keys]
