"""Receipts for the tilbud (C2SP tlog-proof): write one for a decision, check one offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .context import AppContext, pass_app
from .output import emit_json, fail


def _literal(text: str) -> str:
    """User text as it was signed, with control characters made visible (never interpreted)."""
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


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
        sys.stdout.write(f"Wrote the receipt of seq {seq} ({_literal(stream)}) to {out}\n")


@click.command("verify-receipt")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="C2SP tlog-policy with the log key and witnesses (default: [witness] policy in tilsyn.toml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def verify_receipt_cmd(file: str, policy_file: str | None, as_json: bool) -> None:
    """Check a receipt with no database: log signature, witness quorum, inclusion of the record.

    Exit 0 if sound, 1 with the reason, 2 if the file or the policy cannot be read.
    """
    from tilsyn.ledger.errors import LedgerError
    from tilsyn.ledger.receipt import ReceiptError, verify_receipt

    from .witness_config import load_policy, local_time

    try:
        policy = load_policy(policy_file, required=True)
    except LedgerError as e:
        fail(str(e))
    try:
        data = Path(file).read_bytes()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}")
    try:
        report = verify_receipt(data, policy)
    except ReceiptError as e:
        fail(f"{file}: not a C2SP tlog-proof: {e}")
    if as_json:
        emit_json(report.to_dict())
    elif report.ok:
        r, cp = report.record, report.checkpoint
        sys.stdout.write(f"ok: seq {r['seq']} ({_literal(r['type'])} in {_literal(r['stream'])}, by "
                         f"{_literal(r['actor'])}) is in {_literal(cp.origin)} at size {cp.size}\n")
        sys.stdout.write(f"signed by the ledger {local_time(cp.log_time)}\n")
        for name, ts in sorted(cp.cosigners.items()):
            sys.stdout.write(f"cosigned by {_literal(name)} {local_time(ts)}\n")
    else:
        sys.stderr.write(f"FAILED: {report.reason}\n")
    if not report.ok:
        raise SystemExit(1)


COMMANDS = [receipt, verify_receipt_cmd]
