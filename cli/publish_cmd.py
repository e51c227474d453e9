"""``tilsyn publish DIR``: the ledger as a C2SP tlog-tiles static log for monitors."""

from __future__ import annotations

import click

from .context import AppContext, pass_app
from .output import emit_json


@click.command("publish")
@click.argument("directory", type=click.Path(file_okay=False), metavar="DIR")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def publish(app: AppContext, directory: str, as_json: bool) -> None:
    """Write the latest checkpoint, tiles and entry bundles (C2SP tlog-tiles) into DIR.

    Any static web server can serve DIR as the log's URL prefix. If DIR already holds an older
    publication of this ledger, only what changed is written; one this ledger does not extend is
    refused (a fork).
    """
    import sys

    from tilsyn.ledger.tiles import publish as do_publish

    result = do_publish(app.ledger(), directory)
    if as_json:
        emit_json(vars(result) | {"dir": directory})
        return
    since = f" (was {result.previous_size})" if result.previous_size is not None else ""
    sys.stdout.write(f"Published {result.size} events{since} to {directory}: {result.written} files written, "
                     f"{result.unchanged} unchanged" + (f", {result.repaired} repaired" if result.repaired else "") + "\n")


COMMANDS = [publish]
