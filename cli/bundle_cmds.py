"""Evidence bundles: export one tilbud's (or any stream's) events for an outsider, and check one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from tilsyn.ledger.bundle import export_checked

from .bundle_check import run
from .context import AppContext, pass_app
from .output import console, emit_json, writable_file


def stream_name(target: str) -> str:
    """``T-1001`` means the tilbud's stream ``tilbud/T-1001``; a name with a slash is a stream already."""
    return target if "/" in target else f"tilbud/{target}"


@click.command("export")
@click.argument("target", metavar="STREAM-OR-TILBUD")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), callback=writable_file,
              help="Bundle file to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def export(app: AppContext, target: str, out: str, as_json: bool) -> None:
    """Write a self-contained evidence bundle of one tilbud (T-1001) or stream (tilbud/T-1001).

    The bundle holds the stream's events as stored, every key and rules event, and proofs that
    nothing of them was left out, against a signed checkpoint of the whole ledger. If the latest
    checkpoint does not cover the whole ledger, one is signed with the ledger's log key when an admin
    acts (--as) in the authority's key home.
    """
    ledger = app.ledger()
    stream = stream_name(target)
    data, report = export_checked(ledger, stream, app.log_signer() if app.actor else None)  # verified once, there
    Path(out).write_bytes(data)
    summary = {"file": out, "stream": stream, "events": report.events, "key_events": report.key_events,
               "policy_events": report.policy_events, "checkpoint": report.checkpoint_number,
               "checkpoint_size": report.checkpoint_size, "checkpoint_root": report.checkpoint_root,
               "signed_at": report.signed_at, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if as_json:
        emit_json(summary)
        return
    console.print(f"Wrote {out}: {stream}, {report.events} events, {report.key_events} key events and "
                  f"{report.policy_events} rules events, complete as of checkpoint {report.checkpoint_number}, "
                  f"size {report.checkpoint_size}", markup=False)
    console.print(f"sha256 {summary['sha256']}")


@click.command("verify-bundle")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--policy", "policy_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A C2SP tlog-policy: the bundle's checkpoint must also carry its witness quorum.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def verify_bundle_cmd(file: str, policy_file: str | None, as_json: bool) -> None:
    """Check an evidence bundle with no database. Exit 0 if sound, 1 with the reason, 2 if unreadable.

    Says what a sound bundle proves: complete as of checkpoint N, size S, signed at a time (Danish local
    time). With --policy, the checkpoint must also be cosigned by the policy's quorum of witnesses.
    """
    code = run(file, policy_file, as_json)
    if code:
        raise SystemExit(code)


COMMANDS = [export, verify_bundle_cmd]
