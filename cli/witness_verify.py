"""What ``tilsyn verify`` adds for witnesses: signed times, cosignatures, the quorum, and ``--against``."""

from __future__ import annotations

import sys
from pathlib import Path

from .output import fail


def load_against(files: tuple[str, ...]) -> list:
    """Read every ``--against`` file up front: an unreadable or unrecognised one is bad input (exit 2)."""
    if not files:
        return []
    from tilsyn.ledger.against import read_evidence

    items = []
    for f in files:
        try:
            data = Path(f).read_bytes()
        except OSError as e:
            fail(f"cannot read {f}: {e.strerror}")
        try:
            items.append(read_evidence(f, data))
        except ValueError as e:
            fail(str(e))
    return items


def witness_checks(app, ledger, report, policy_file: str | None, evidence: list, *, quiet: bool) -> dict:
    """Run the witnessing checks and the fork checks; merge their problems into the kernel report."""
    from tilsyn.ledger.verify import Problem
    from tilsyn.ledger.witnessing import merge_into, verify_witnessing

    from .witness_config import load_policy

    policy = load_policy(policy_file)
    wr = verify_witnessing(ledger, policy)
    merge_into(report, wr)
    extra = {"witnessing": wr.to_dict()}
    if evidence:
        from tilsyn.ledger.against import check_against

        results = check_against(ledger, evidence)
        for r in results:
            if not r.ok:
                seq = r.first_diff_seq or max(min(r.size or 1, r.ledger_size or 1), 1)
                report.problems.append(Problem(seq, f"{r.label}: {r.message}"))
                if not quiet:
                    sys.stderr.write(f"{r.label}: {r.message}\n")
        if "against" not in report.checked:
            report.checked.append("against")
        extra["against"] = [r.to_dict() for r in results]
    return extra


def print_summary(extra: dict) -> None:
    """The ok lines for witnessing and --against (only printed when everything verified)."""
    from .witness_config import local_time

    w = extra.get("witnessing") or {}
    if w.get("cosignatures"):
        sys.stdout.write(f"ok: {w['cosignatures']} witness cosignature(s) verify\n")
    q = w.get("quorum")
    if q and q.get("ok"):
        names = ", ".join(f"{n} {local_time(t)}" for n, t in sorted(q["cosigners"].items())) or "none needed"
        sys.stdout.write(f"ok: the latest checkpoint (size {q['size']}, signed {local_time(q['log_time'])}) "
                         f"meets the witness quorum: {names}\n")
    for r in extra.get("against", []):
        sys.stdout.write(f"ok: {r['file']}: {r['message']}\n")
