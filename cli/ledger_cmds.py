"""Commands on the ledger as a whole: init, log, verify."""

from __future__ import annotations

import sys

import click
from rich.text import Text
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tilsyn.ledger import Ledger, verify_ledger

from .context import AppContext, pass_app
from .output import console, emit_json, one_line, visible
from .timeview import local_time


@click.command()
@click.option("--authority", required=True, metavar="NAME", help="Name of the supervision authority (its admin key).")
@click.option("--origin", metavar="TEXT", help="Origin line for checkpoints: printable ASCII without + (default: tilsyn-ledger/<new ledger id>).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def init(app: AppContext, authority: str, origin: str | None, as_json: bool) -> None:
    """Create a new ledger with an authority key (role admin) and its genesis event."""
    ledger, signer = Ledger.init(app.db, authority, app.keystore, passphrase=app.passphrase,
                                 policy=app.policy(), origin=origin)
    app._ledger = ledger
    path = app.keystore.path(signer.key_id)
    from tilsyn.ledger.personal import create_kek_file

    kek_path = create_kek_file(app.keystore.home)
    if as_json:
        emit_json({"db": ledger.store.display_url(), "authority": authority, "key_id": signer.key_id,
                   "key_file": str(path), "origin": ledger.origin, "kek_file": str(kek_path) if kek_path else None})
        return
    console.print(Text.assemble("Created ledger at ", (visible(ledger.store.display_url()), "bold"), f" (origin {visible(ledger.origin)})"))
    console.print(Text.assemble("Authority ", (visible(authority), "bold"), f" holds key {signer.key_id} (role admin); private key: {visible(path)}"))
    if kek_path:
        console.print(f"Created a key-encryption key for personal data at {kek_path} (mode 0600); keep it safe and "
                      f"backed up, or set $TILSYN_KEK / $TILSYN_KEK_FILE instead")


@click.command()
@click.option("--stream", metavar="STREAM", help="Only this stream, e.g. tilbud/T-1001 or ledger/keys.")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only events of this type (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most this many (the newest).")
@click.option("--json", "as_json", is_flag=True, help="Complete machine-readable output, payloads included.")
@pass_app
def log(app: AppContext, stream: str | None, types: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """List events in seq order."""
    events = list(app.ledger().read(stream=stream, types=types or None))
    if limit:
        events = events[-limit:]
    if as_json:
        emit_json([e.to_dict() for e in events])
        return
    table = Table("seq", "recorded", "stream", "v", "type", "actor", box=None, header_style="bold")
    for e in events:
        table.add_row(str(e.seq), local_time(e.recorded_at), e.stream, str(e.statement.stream_version),
                      e.type, e.actor)
    console.print(table)
    if not events:
        console.print("(no events)")


@click.command()
@click.option("--against", "against", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="A receipt, checkpoint note or bundle given out before: prove the ledger extends it (repeatable).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="C2SP tlog-policy whose quorum the latest checkpoint must meet (default: tilsyn.toml's).")
@click.option("--rules", "rules", is_flag=True,
              help="Also replay the guards in force at each event and report every event they would have refused.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@pass_app
def verify(app: AppContext, against: tuple[str, ...], policy_file: str | None, rules: bool, as_json: bool) -> None:
    """Re-check every event from the stored bytes. Exit 0 if sound, 1 naming the first bad seq.

    With a witness policy, the latest checkpoint must carry the quorum's cosignatures; with --against,
    the ledger must extend each earlier receipt, checkpoint or bundle (else exit 1 naming the fork).
    """
    from .witness_verify import load_against

    evidence = load_against(against)
    ledger = app.raw_ledger()  # verify trusts nothing that opening folds
    kek = ledger.vault.kek
    show_progress = sys.stderr.isatty() and not as_json
    if show_progress:
        with Progress(TextColumn("verifying"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn(), transient=True, console=console.__class__(stderr=True)) as bar:
            task = bar.add_task("verify", total=None)
            report = verify_ledger(ledger.store, ledger.policy, kek=kek,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        report = verify_ledger(ledger.store, ledger.policy, kek=kek)
    extra = _extra_checks(app, ledger, report)
    # What this machine verified before must still be there (a truncated tail shows here, if it was seen);
    # and what was just verified in full need not be verified again.
    ledger.adopt_verified(report)
    from tilsyn.ledger.errors import DamagedError
    from tilsyn.ledger.verify import Problem

    from .witness_verify import witness_checks

    try:
        # Witness checks read through the verified ledger: on a ledger that failed above they could only
        # repeat its damage under another seq, unless evidence (--against) asks for them.
        if report.ok or evidence:
            extra |= witness_checks(app, ledger, report, policy_file, evidence, quiet=as_json)
    except DamagedError as e:  # a ledger that failed above cannot be read for the witness checks either
        report.problems.append(Problem(e.seq, e.reason))
    rule_report = _replay_rules(app, ledger) if rules and report.ok else None  # quality (issue 14)
    if rule_report is not None:
        extra["rules"] = rule_report.to_dict()
    if as_json:
        emit_json(report.to_dict() | extra)
    elif report.ok:
        console.print(f"ok: {report.events} events verified; head {report.head_hash}")
        if extra.get("checkpoints", {}).get("count"):
            n = extra["checkpoints"]["count"]
            console.print(f"ok: {n} signed checkpoint{'s match' if n != 1 else ' matches'} the ledger"
                          + (" and they extend one another" if n > 1 else ""))
        from .witness_verify import print_summary

        print_summary(extra)
        if rule_report is not None:
            _print_rules(rule_report)
        sys.stdout.write(f"not detectable: {report.not_detectable}\n")
    else:
        first = report.first
        sys.stderr.write(f"FAILED at seq {first.seq}: {one_line(first.message)}\n")
        for p in sorted(report.problems, key=lambda p: p.seq)[1:10]:
            sys.stderr.write(f"  also seq {p.seq}: {one_line(p.message)}\n")
        sys.stderr.write(f"not detectable: {report.not_detectable}\n")
    if not report.ok or (rule_report is not None and not rule_report.ok):
        raise SystemExit(1)


def _replay_rules(app: AppContext, ledger):
    """``--rules`` (issue 14): the guards in force replayed over the verified events."""
    from tilsyn.standards.rule_replay import replay_rules

    return replay_rules(ledger, app.plugins())


def _print_rules(rr) -> None:
    if rr.ok:
        console.print(f"ok: {rr.events} hændelser genprøvet mod reglerne; ingen ville være afvist"
                      + ("" if rr.versions_recorded else " (reglernes versioner er ikke registreret i journalen; "
                                                         "de installerede regler er brugt)"))
    else:
        sys.stderr.write(f"REGLER: {len(rr.breaches)} hændelse(r) ville være afvist af reglerne i kraft:\n")
        for b in rr.breaches:
            sys.stderr.write(f"  seq {b.seq} ({one_line(b.stream)}, {one_line(b.type)}): {b.plugin}/{b.rule}: "
                             f"{one_line(b.reason)}\n")
    for n in rr.not_replayed[:20]:
        console.print(Text(f"ikke genprøvet: seq {n['seq']}: {one_line(n['reason'])}"))


def _extra_checks(app: AppContext, ledger: Ledger, report) -> dict:
    """Later layers (checkpoints) add their checks here; the kernel report stays the base."""
    from tilsyn.ledger.checkpoints import merge_into, verify_checkpoints

    checkpoints = verify_checkpoints(ledger)
    merge_into(report, checkpoints)  # a checkpoint problem fails verify like any other, with its own line
    from tilsyn.standards.snapshots import verify_snapshots

    snapshots = verify_snapshots(ledger, app.plugins(), report)
    return {"checkpoints": checkpoints.to_dict(), "snapshots": snapshots}


COMMANDS = [init, log, verify]
