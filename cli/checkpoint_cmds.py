"""Signed checkpoints: the authority commits to the ledger's current size and root, and witnesses cosign."""

from __future__ import annotations

import sys

import click

from tilsyn.ledger.checkpoints import create_checkpoint, latest_checkpoint

from .context import AppContext, pass_app
from .output import console, emit_json, fail


def _policy_witnesses(policy, urls: tuple[str, ...]):
    """The policy's witnesses to contact: those at ``urls``, or every one with a URL if none are given."""
    if policy is None:
        if urls:
            fail("--witness needs a witness policy (set [witness] policy = \"FILE\" in tilsyn.toml, or --policy "
                 "FILE) that lists each witness's key: 'witness NAME VKEY URL'")
        return []
    by_url = {w.url.rstrip("/"): w for w in policy.witnesses.values() if w.url}
    if not urls:
        return list(by_url.values())
    chosen = []
    for url in urls:
        w = by_url.get(url.rstrip("/"))
        if w is None:
            fail(f"{url} is not the URL of a witness in the policy; add 'witness NAME VKEY {url}' to it")
        chosen.append(w)
    return chosen


@click.command()
@click.option("--witness", "witness_urls", multiple=True, metavar="URL",
              help="Submit the checkpoint to this witness (repeatable; default: every witness URL in the policy).")
@click.option("--no-witness", is_flag=True, help="Sign and store the checkpoint without contacting witnesses.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="C2SP tlog-policy file (default: [witness] policy in tilsyn.toml).")
@click.option("--vkey", is_flag=True, help="Only print the ledger's C2SP verifier key and exit.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (the note included).")
@pass_app
def checkpoint(app: AppContext, witness_urls: tuple[str, ...], no_witness: bool, policy_file: str | None,
               vkey: bool, as_json: bool) -> None:
    """Sign the current tree size and root with the ledger's log key, store it, and have witnesses cosign it.

    Run it as an admin (--as NAME) in the authority's key home: the ledger's own log key (made at
    'tilsyn init', never a person's key) signs it. The checkpoint is a C2SP tlog-checkpoint in a signed note,
    with the log key's cosignature/v1 line as its signed time. Witnesses get it with a consistency
    proof (C2SP tlog-witness) from the size they last cosigned; their cosignatures are kept with the
    checkpoint and 'tilsyn verify' demands the policy's quorum. Exit 1 if a witness reports a fork or
    the quorum is not met.
    """
    from .witness_config import load_policy, local_time

    ledger = app.ledger()
    if vkey:
        from tilsyn.ledger.witnessing import log_vkey

        sys.stdout.write(log_vkey(ledger) + "\n")
        return
    policy = load_policy(policy_file)
    witnesses = [] if no_witness else _policy_witnesses(policy, witness_urls)
    before = latest_checkpoint(ledger)
    cp = create_checkpoint(ledger, app.log_signer())
    fresh = before is None or before.id != cp.id
    outcomes = []
    if witnesses:
        from tilsyn.ledger.witness_client import witness_checkpoint

        outcomes = witness_checkpoint(ledger, cp, witnesses)
    from tilsyn.ledger.tlog_policy import check_note
    from tilsyn.ledger.witnessing import cosigned_note, effective_policy, latest_time

    note = cosigned_note(ledger, cp)
    quorum = check_note(note, effective_policy(ledger, policy)) if policy is not None else None
    signed_at = latest_time(ledger, cp)
    if as_json:
        emit_json(cp.to_dict() | {"new": fresh, "note": note, "signed_time": signed_at,
                                  "witnesses": [o.to_dict() for o in outcomes],
                                  "quorum": quorum.to_dict() if quorum else None})
    else:
        if fresh:
            console.print(f"Checkpoint #{cp.id}: {cp.size} events, root {cp.root.hex()}")
        else:
            console.print(f"Checkpoint #{cp.id} already covers all {cp.size} events (root {cp.root.hex()})")
        sys.stdout.write(f"Signed by the ledger {local_time(signed_at)}\n")
        for o in outcomes:
            if o.ok:
                sys.stdout.write(f"Cosigned by {o.witness.name}"
                                 f"{' ' + local_time(o.timestamp) if o.timestamp else ' (' + o.message + ')'}\n")
            else:
                sys.stderr.write(f"{'FORK' if o.fork else 'not cosigned'}: {o.witness.name} ({o.witness.url}): "
                                 f"{o.message}\n")
        if quorum is not None:
            if quorum.ok:
                sys.stdout.write(f"Quorum met: {', '.join(sorted(quorum.cosigners)) or 'none needed'}\n")
            else:
                sys.stderr.write(f"Quorum NOT met: {quorum.reason}\n")
        sys.stdout.write(note)
    if any(o.fork for o in outcomes) or (quorum is not None and not quorum.ok and witnesses):
        raise SystemExit(1)


COMMANDS = [checkpoint]
