"""``tilsyn witness``: run a C2SP tlog-witness for another authority's ledger.

The other socialtilsyn, Ankestyrelsen or a providers' organisation runs one: it cosigns a ledger's
checkpoints only while each extends the last one it cosigned, so the authority cannot show two histories.
Starlette and uvicorn are imported only by ``serve``.
"""

from __future__ import annotations

import os
import sys

import click

from .output import emit_json, fail

DEFAULT_DIR = "witness"


def _dir_option(f):
    return click.option("--dir", "directory", envvar="TILSYN_WITNESS_DIR", default=DEFAULT_DIR, show_default=True,
                        metavar="DIR", help="The witness directory: key, trusted logs, state ($TILSYN_WITNESS_DIR).")(f)


def _open(directory: str):
    from tilsyn.ledger.witness import Witness, WitnessError

    try:
        return Witness(directory)
    except WitnessError as e:
        fail(str(e))


@click.group()
def witness() -> None:
    """Run a witness (C2SP tlog-witness) that cosigns another ledger's consistent checkpoints."""


@witness.command("init")
@_dir_option
@click.option("--name", required=True, metavar="NAME",
              help="The witness's key name, a schema-less URL such as ankestyrelsen.dk/vidne.")
@click.option("--log", "logs", multiple=True, metavar="VKEY",
              help="A log to witness: its verifier key ('tilsyn checkpoint --vkey'). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def init_cmd(directory: str, name: str, logs: tuple[str, ...], as_json: bool) -> None:
    """Create a witness key and directory; print the witness's verifier key for the log's policy."""
    from tilsyn.ledger.witness import WitnessError, init_witness

    try:
        w = init_witness(directory, name, list(logs))
    except (WitnessError, OSError) as e:
        fail(str(e))
    if as_json:
        emit_json({"dir": str(w.dir), "name": w.name, "vkey": w.vkey, "logs": [log.vkey for log in w.logs]})
        return
    sys.stdout.write(f"Witness {w.name} in {w.dir} (private key {w.dir / 'witness.key'}, mode 0600)\n")
    sys.stdout.write(f"Verifier key (for the log's tlog-policy 'witness NAME VKEY URL' line):\n{w.vkey}\n")


@witness.command("trust")
@_dir_option
@click.argument("vkey")
def trust_cmd(directory: str, vkey: str) -> None:
    """Add a log (its verifier key) to the logs this witness cosigns."""
    from tilsyn.ledger.witness import WitnessError

    w = _open(directory)
    try:
        w.trust(vkey)
    except WitnessError as e:
        fail(str(e))
    sys.stdout.write(f"Witness {w.name} now cosigns {len(w.logs)} log(s)\n")


@witness.command("vkey")
@_dir_option
def vkey_cmd(directory: str) -> None:
    """Print this witness's verifier key."""
    sys.stdout.write(_open(directory).vkey + "\n")


@witness.command("serve")
@_dir_option
@click.option("--listen", default="127.0.0.1:7380", show_default=True, metavar="HOST:PORT",
              help="Address to listen on (port 0: any free port; the one chosen is printed).")
def serve_cmd(directory: str, listen: str) -> None:
    """Serve add-checkpoint (POST /add-checkpoint) and the latest cosigned checkpoints (GET /<hash>/checkpoint)."""
    w = _open(directory)
    from tilsyn.ledger.witness_server import bind, serve

    try:
        sock = bind(listen)
    except (ValueError, OSError) as e:
        fail(f"cannot listen on {listen}: {e}")
    host, port = sock.getsockname()[:2]
    sys.stdout.write(f"Witness {w.name} listening on http://{host}:{port} ({len(w.logs)} log(s); pid {os.getpid()})\n")
    sys.stdout.flush()
    serve(w, sock)


COMMANDS = [witness]
