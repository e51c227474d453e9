"""Receipts for the tilbud (C2SP tlog-proof): write one for a decision, check one offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .context import AppContext, pass_app
from .output import emit_json, fail
from .receipt_check import literal, run


@click.command("receipt")
@click.argument("tilbud")
@click.argument("seq", type=click.IntRange(min=1))
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="FILE.tlog-proof",
              help="Where to write the receipt.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def receipt(app: AppContext, tilbud: str, seq: int, out: str, as_json: bool) -> None:
    """Write the receipt of event SEQ of TILBUD (T-1001 or tilbud/T-1001): a C2SP tlog-proof.

    It holds the record, its inclusion proof and the latest checkpoint with its witness cosignatures.
    The tilbud keeps it: 'tilsyn verify-receipt' checks it offline, 'tilsyn verify --against' proves
    that the ledger still holds that record.
    """
    from tilsyn.ledger.receipt import ReceiptError, make_receipt

    stream = tilbud if "/" in tilbud else f"tilbud/{tilbud}"
    try:
        text = make_receipt(app.ledger(), seq, stream)
    except ReceiptError as e:
        fail(str(e))
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {out}: {e.strerror}")
    if as_json:
        emit_json({"file": out, "seq": seq, "stream": stream})
    else:
        sys.stdout.write(f"Wrote the receipt of seq {seq} ({literal(stream)}) to {out}\n")


@click.command("verify-receipt")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="C2SP tlog-policy with the log key and witnesses (default: [witness] policy in tilsyn.toml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def verify_receipt_cmd(file: str, policy_file: str | None, as_json: bool) -> None:
    """Check a receipt with no database: log signature, witness quorum, inclusion of the record.

    Exit 0 if sound, 1 with the reason, 2 if the file or the policy cannot be read.
    """
    code = run(file, policy_file, as_json)
    if code:
        raise SystemExit(code)


COMMANDS = [receipt, verify_receipt_cmd]
