"""``tilsyn verify-receipt``'s work, with nothing but what an offline receipt check needs.

A tilbud checks its receipts years later, perhaps a folder of them in a script: the check needs hashing,
Ed25519, and the note, policy and proof parsers — not the command layer, the console, the database or
the plugins. So this module imports none of them; :mod:`tilsyn.cli.launch` runs it straight from the
command line, and the click command (:mod:`tilsyn.cli.receipt_cmds`) calls the same :func:`run`.
(:mod:`tilsyn.cli.output` loads rich only when a console is first used, so its plain helpers serve.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from .output import emit_json, fail


def literal(text: str) -> str:
    """User text as it was signed, with control characters made visible (never interpreted)."""
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def run(file: str, policy_file: str | None, as_json: bool) -> int:
    """Check the receipt ``file`` against the witness policy; print the outcome; return the exit code
    (0 sound, 1 not sound). A file or policy that cannot be read exits 2 with one line (:func:`fail`)."""
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
        sys.stdout.write(f"ok: seq {r['seq']} ({literal(r['type'])} in {literal(r['stream'])}, by "
                         f"{literal(r['actor'])}) is in {literal(cp.origin)} at size {cp.size}\n")
        sys.stdout.write(f"signed by the ledger {local_time(cp.log_time)}\n")
        for name, ts in sorted(cp.cosigners.items()):
            sys.stdout.write(f"cosigned by {literal(name)} {local_time(ts)}\n")
    else:
        sys.stderr.write(f"FAILED: {report.reason}\n")
    return 0 if report.ok else 1
