"""``tilsyn verify-bundle``'s work, with nothing but what an offline bundle check needs.

Whoever holds an evidence bundle — the tilbud, its lawyer, Ankestyrelsen — checks it with no database:
strict JSON, hashes, Ed25519, the note and policy parsers. Like :mod:`tilsyn.cli.receipt_check`, this
module loads no command layer, console, database or plugins, so :mod:`tilsyn.cli.launch` can run it
straight from the command line; the click command (:mod:`tilsyn.cli.bundle_cmds`) calls the same :func:`run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .output import emit_json, fail, one_line


def local_time(canonical: str) -> str:
    """A canonical UTC timestamp as people here read it: Danish local time, zone shown."""
    from zoneinfo import ZoneInfo

    from tilsyn.ledger.timefmt import parse_time

    return parse_time(canonical).astimezone(ZoneInfo("Europe/Copenhagen")).strftime("%d-%m-%Y %H:%M:%S %Z")


def run(file: str, policy_file: str | None, as_json: bool) -> int:
    """Check the bundle ``file`` (and, with ``policy_file``, its witness quorum); print what it proves or
    why not; return the exit code (0 sound, 1 not). An unreadable file or policy exits 2 (:func:`fail`)."""
    from tilsyn.ledger.bundle import BundleFormatError, BundleProblem, verify_bundle

    try:
        data = Path(file).read_bytes()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}")
    try:
        report = verify_bundle(data)
    except BundleFormatError as e:
        fail(f"{file}: {e}")
    if policy_file is not None:
        from tilsyn.ledger.errors import LedgerError
        from tilsyn.ledger.strictjson import loads
        from tilsyn.ledger.tlog_policy import check_note

        from .witness_config import load_policy

        try:
            policy = load_policy(policy_file, required=True)
        except LedgerError as e:
            fail(str(e))
        quorum = check_note(loads(data)["checkpoint"], policy)
        if not quorum.ok:
            report.problems.append(BundleProblem(None, f"witness policy {policy_file}: {quorum.reason}"))
        report.checked.append("witness quorum")
    if as_json:
        emit_json(report.to_dict())
    elif report.ok:
        sys.stdout.write(one_line(
            f"ok: {report.stream}: {report.events} events, {report.key_events} key events and "
            f"{report.policy_events} rules events verified; complete as of checkpoint {report.checkpoint_number}, "
            f"size {report.checkpoint_size}, signed at {local_time(report.signed_at)} ({report.origin}, root "
            f"{report.checkpoint_root})") + "\n")
    else:
        sys.stderr.write(f"FAILED: {one_line(report.reason)}\n")
        for p in report.problems[1:10]:
            sys.stderr.write(f"  also {'seq ' + str(p.seq) + ': ' if p.seq is not None else ''}{one_line(p.message)}\n")
    return 0 if report.ok else 1
