"""The ``tilsyn`` command: a thin layer over the Python API.

Conventions for every command: ``--db URL`` and ``--as NAME`` are global options given before the
command (or ``$TILSYN_DB``, ``$TILSYN_ACTOR``); ``--json`` belongs to each command that prints; errors
print one line to stderr and exit 2; a failed verification exits 1.
"""

from __future__ import annotations

import click

from tilsyn.ledger.errors import LedgerError
from tilsyn.standards.errors import StandardError

from .context import DEFAULT_DB, AppContext
from .output import fail


class TilsynGroup(click.Group):
    """Turns every expected error into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):
        from tilsyn.plugins.manager import PluginError

        try:
            return super().invoke(ctx)
        except (LedgerError, StandardError, PluginError) as e:
            fail(str(e))
        finally:
            app = ctx.find_object(AppContext)
            if app is not None:
                app.close()


@click.group(cls=TilsynGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="TILSYN_DB", default=DEFAULT_DB, show_default=True, metavar="URL",
              help="The ledger: a SQLite file path, sqlite:///FILE or postgresql+psycopg://HOST/DB ($TILSYN_DB).")
@click.option("--as", "actor", envvar="TILSYN_ACTOR", metavar="NAME",
              help="Who is acting; their private key is read from the key home ($TILSYN_ACTOR).")
@click.option("--home", envvar="TILSYN_HOME", metavar="DIR",
              help="Key home holding private keys ($TILSYN_HOME, default ~/.tilsyn).")
@click.version_option(package_name="tilsyn-ledger", prog_name="tilsyn")
@click.pass_context
def cli(ctx: click.Context, db: str, actor: str | None, home: str | None) -> None:
    """tilsyn — a tamper-evident ledger for Danish social supervision (socialtilsyn).

    Every observation, assessment, decision and plan change is an event signed by the person who
    made it, sealed into a hash chain. Start with 'tilsyn init', then 'tilsyn keys add'.
    """
    ctx.obj = AppContext(db=db, actor=actor, home=home)


def _register_commands() -> None:
    from . import (bundle_cmds, checkpoint_cmds, demo, explain_cmd, importing, keys_cmds, ledger_cmds, plugin_cmds,
                   recording, report, subjects, views)

    for module in (ledger_cmds, keys_cmds, plugin_cmds, recording, views, importing, subjects, checkpoint_cmds,
                   explain_cmd, bundle_cmds, report, demo):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


def main() -> None:
    """Console entry point."""
    cli(prog_name="tilsyn")
