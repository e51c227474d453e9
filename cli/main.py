"""The ``tilsyn`` command: a thin layer over the Python API.

Conventions for every command: ``--db URL`` and ``--as NAME`` are global options given before the
command (or ``$TILSYN_DB``, ``$TILSYN_ACTOR``); ``--json`` belongs to each command that prints; errors
print one line to stderr and exit 2; a failed verification exits 1.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from tilsyn import __version__

from . import errors
from .context import DEFAULT_DB, AppContext


# Command name → the module that defines it. Modules are imported only when their command runs (or
# for --help), so a command pays only for what it uses; tests check this map against each COMMANDS.
COMMAND_MODULES = {
    "init": "ledger_cmds", "log": "ledger_cmds", "verify": "ledger_cmds",
    "keys": "keys_cmds", "plugins": "plugin_cmds", "standards": "plugin_cmds",
    "tilbud": "recording", "visit": "recording", "observe": "recording", "assess": "recording", "risk": "recording",
    "decide": "recording", "decision": "recording", "plan": "recording", "check": "recording",
    "monitor": "recording", "correct": "recording",
    "varsel": "recording", "hoering": "recording", "anbefal": "recording",
    "status": "views", "findings": "views", "history": "views",
    "import": "importing", "erase": "subjects", "subjects": "subjects", "readers": "readers_cmds",
    "checkpoint": "checkpoint_cmds", "explain": "explain_cmd", "export": "bundle_cmds",
    "verify-bundle": "bundle_cmds", "report": "report", "letter": "letter", "demo": "demo",
    "witness": "witness_cmds", "receipt": "receipt_cmds", "verify-receipt": "receipt_cmds", "publish": "publish_cmd",
}

# Command name → the first paragraph of its help, for the command list of `tilsyn --help`, so that
# listing the commands does not import every command module (and with them the database layers).
# A test checks that `tilsyn --help` reads exactly as it would with every module loaded.
COMMAND_SUMMARIES = {
    'assess': 'Assess a marker (til stede / ikke til stede / ikke aktuel) or a criterion (opfyldt / ikke opfyldt).',
    'check': 'Check INDIKATOR of the regional STANDARD (e.g. regional-1.3) for TILBUD.',
    'checkpoint': "Sign the current tree size and root with the ledger's log key, store it, and have witnesses cosign it.",
    'correct': 'Correct the event at SEQ: withdraw it, or replace its content. Nothing is edited.',
    'anbefal': 'Record a recommendation (anbefaling) to TILBUD; plan rows may answer it (plan add --answers SEQ).',
    'decide': 'Issue a decision for TILBUD, as a tilsynsleder.',
    'decision': 'Follow a decision up: extend its frist, confirm it after genoptagelse, lift it, or record it fulfilled.',
    'hoering': 'Record the tilbud\'s høringssvar to the varsel at VARSEL-SEQ.',
    'varsel': 'Give TILBUD notice (varsel) of an intended decision and hear it (partshøring), as a tilsynsleder.',
    'demo': 'Build a realistic supervision in a fresh SQLite ledger and show status, findings and verify.',
    'erase': "Erase SUBJECT's personal data by destroying their key (as tilsynsleder or admin).",
    'explain': 'Show how a decision of TILBUD was reached (default: its most recent decision).',
    'export': 'Write a self-contained evidence bundle of one tilbud (T-1001) or stream (tilbud/T-1001).',
    'findings': 'What the rule plugins report for TILBUD (or every tilbud). Findings advise; they never refuse.',
    'history': 'Every event of TILBUD in order, with who, when, and what corrected what.',
    'import': 'Record a whole visit from FILE (TOML or JSON): one transaction, all or nothing.',
    'init': 'Create a new ledger with an authority key (role admin) and its genesis event.',
    'keys': 'Register, grant, revoke and list the keys of the people who record.',
    'letter': 'Write the varsel or afgørelse at SEQ of TILBUD as a letter (HTML, or PDF/A with --pdf or a .pdf FILE).',
    'log': 'List events in seq order.',
    'monitor': 'Record internal quality monitoring (trin 3) of STANDARD for TILBUD.',
    'observe': 'Record an observation for MARKER of TILBUD.',
    'plan': "The tilbud's follow-up plan (opfølgningsplan): rows by priority, revisions, approval, results.",
    'plugins': 'Installed plugins (standards, event types, rules).',
    'publish': 'Write the latest checkpoint, tiles and entry bundles (C2SP tlog-tiles) into DIR.',
    'receipt': 'Write the receipt of event SEQ of TILBUD (T-1001 or tilbud/T-1001): a C2SP tlog-proof.',
    'readers': "Who can open personal data: reader keys and the reader group's key (tilsynskonsulent, tilsynsleder).",
    'report': 'Write the tilsynsrapport about TILBUD (in Danish) as HTML, or as PDF/A with --pdf or a .pdf FILE.',
    'risk': 'Set the risk colour (risikokategori) of TILBUD; at gul, with the doubt and the widened design.',
    'standards': 'Quality models, regional standards and plan templates.',
    'status': 'The current state of TILBUD: verdicts by theme, fornøden kvalitet, risk, decisions, plan, indikatorer.',
    'subjects': 'Data subjects (citizens, staff …) whose personal data the ledger holds in sealed form.',
    'tilbud': 'Register and list tilbud (the supervised providers).',
    'verify': 'Re-check every event from the stored bytes. Exit 0 if sound, 1 naming the first bad seq.',
    'verify-bundle': 'Check an evidence bundle with no database. Exit 0 if sound, 1 with the reason, 2 if unreadable.',
    'verify-receipt': 'Check a receipt with no database: log signature, witness quorum, inclusion of the record.',
    'visit': 'Supervision visits (tilsynsbesøg): start, complete, abort.',
    'witness': "Run a witness (C2SP tlog-witness) that cosigns another ledger's consistent checkpoints.",
}


class TilsynGroup(click.Group):
    """Loads each command's module on first use, and turns every failure into one line on stderr.

    Expected errors (the kernel's, the domain's, the plugins', click's usage errors, a database that
    cannot be used, a file that cannot be read) print ``tilsyn: error: …`` and exit 2; a failed
    verification exits 1. Anything else is a bug: it too prints one line (never a traceback) and
    exits 2, and ``TILSYN_DEBUG=1`` shows the traceback for the developer.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMAND_MODULES:  # Danish letters typed as æ/ø/å: `tilsyn høring` is `tilsyn hoering`
            from .choices import fold

            name = fold(name)
        module_name = COMMAND_MODULES.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"{__package__}.{module_name}")
        return next((c for c in module.COMMANDS if c.name == name), None)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, as click writes it, from :data:`COMMAND_SUMMARIES`; a command
        without a summary there is loaded to ask it."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            summary = COMMAND_SUMMARIES.get(name)
            if summary is not None:
                rows.append((name, click.Command(name, help=summary).get_short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        finally:
            app = ctx.find_object(AppContext)
            if app is not None:
                app.close()

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        if not standalone_mode:  # a caller inside the CLI (the demo) handles errors itself
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            check_utf8(list(args))
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except SystemExit:
            raise
        except BaseException as e:  # noqa: BLE001 - the one place that turns every failure into one line
            raise errors.exit_for(e) from None
        raise SystemExit(rv if isinstance(rv, int) else 0)


def check_utf8(args: list[str]) -> None:
    """Refuse an argument (or a ``$TILSYN_…`` variable) that is not valid UTF-8.

    Python hands undecodable bytes over as lone surrogates; they would be signed as garbage or crash
    the first print, so they are refused before anything is opened. A NUL character is refused too.
    """
    for i, arg in enumerate(args, 1):
        if not _is_utf8(arg):
            raise click.UsageError(f"argument {i} is not valid UTF-8: {_shown(arg)}")
        if "\x00" in arg:  # no shell can pass one; PostgreSQL cannot store one in text
            raise click.UsageError(f"argument {i} contains a NUL character, which the ledger does not record")
    for name, value in os.environ.items():
        if name.startswith("TILSYN_") and not _is_utf8(value):
            raise click.UsageError(f"${name} is not valid UTF-8: {_shown(value)}")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@click.group("tilsyn", cls=TilsynGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="TILSYN_DB", default=DEFAULT_DB, show_default=True, metavar="URL",
              help="The ledger: a SQLite file path, sqlite:///FILE or postgresql+psycopg://HOST/DB ($TILSYN_DB).")
@click.option("--as", "actor", envvar="TILSYN_ACTOR", metavar="NAME",
              help="Who is acting; their private key is read from the key home ($TILSYN_ACTOR).")
@click.option("--home", envvar="TILSYN_HOME", metavar="DIR",
              help="Key home holding private keys ($TILSYN_HOME, default ~/.tilsyn).")
@click.version_option(__version__, prog_name="tilsyn")  # a constant: importlib.metadata costs time
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
