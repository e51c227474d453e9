"""The ``tilsyn`` command: a thin layer over the Python API.

Conventions for every command: ``--db URL`` and ``--as NAME`` are global options given before the
command (or ``$TILSYN_DB``, ``$TILSYN_ACTOR``); ``--json`` belongs to each command that prints; errors
print one line to stderr and exit 2; a failed verification exits 1.
"""

from __future__ import annotations

import importlib

import click

from tilsyn.ledger.errors import LedgerError
from tilsyn.standards.errors import StandardError

from .context import DEFAULT_DB, AppContext
from .output import fail


# Command name → the module that defines it. Modules are imported only when their command runs (or
# for --help), so a command pays only for what it uses; tests check this map against each COMMANDS.
COMMAND_MODULES = {
    "init": "ledger_cmds", "log": "ledger_cmds", "verify": "ledger_cmds",
    "keys": "keys_cmds", "plugins": "plugin_cmds", "standards": "plugin_cmds",
    "tilbud": "recording", "visit": "recording", "observe": "recording", "assess": "recording", "risk": "recording",
    "decide": "recording", "decision": "recording", "plan": "recording", "check": "recording",
    "monitor": "recording", "correct": "recording",
    "status": "views", "findings": "views", "history": "views",
    "import": "importing", "erase": "subjects", "subjects": "subjects",
    "checkpoint": "checkpoint_cmds", "explain": "explain_cmd", "export": "bundle_cmds",
    "verify-bundle": "bundle_cmds", "report": "report", "letter": "letter", "demo": "demo",
    "witness": "witness_cmds", "receipt": "receipt_cmds", "verify-receipt": "receipt_cmds", "publish": "publish_cmd",
}


class TilsynGroup(click.Group):
    """Loads each command's module on first use, and turns every expected error into one line on
    stderr and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"{__package__}.{module_name}")
        return next((c for c in module.COMMANDS if c.name == name), None)

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


def main() -> None:
    """Console entry point."""
    cli(prog_name="tilsyn")
