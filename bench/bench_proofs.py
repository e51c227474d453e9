"""Benchmark: Merkle proofs, checkpoints and evidence bundles on a large ledger. Run by hand.

    python bench/bench_proofs.py                 # 1,000,000 events (several minutes to generate)
    python bench/bench_proofs.py --events 200000 --db /tmp/bench.db --keep
    python bench/bench_proofs.py --db /tmp/bench.db --reuse        # measure that ledger again

Generates a ledger signed with one key (batches of 5,000 via ``Signer.sign_many`` + ``Ledger.append``),
with one 500-event tilbud spread evenly through it, then measures:
- one inclusion proof, median over 100 random seqs, including the database reads;
- creating a signed checkpoint; verifying all checkpoints (a full pass over the record bytes);
- ``export_bundle`` + ``verify_bundle`` of the 500-event stream, in process and as the commands
  ``tilsyn export`` and ``tilsyn verify-bundle`` (wall clock and cpu time).
Prints a table (figure, goal, measured, reference); asserts nothing (but checks every proof it times, so
the numbers are for real work).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from tilsyn.ledger import EventType, KeyStore, Ledger, Policy, create_checkpoint, export_bundle, verify_bundle
from tilsyn.ledger import merkle, verify_checkpoints
from tilsyn.ledger.envelope import make_statement
from tilsyn.ledger.timefmt import now


class Observation(msgspec.Struct):
    text: str
    marker: str
    n: int


def policy() -> Policy:
    p = Policy()
    p.register(EventType("bench.Observation/1", frozenset({"admin"}), Observation))
    return p


def generate(path: Path, events: int, stream_events: int, batch: int = 5000) -> Ledger:
    ledger, signer = Ledger.init(str(path), "Bench Tilsyn", KeyStore(path.parent / "home"), policy=policy(),
                                 trust_home=path.parent / "home")  # verified state kept for --db reuse
    target = "tilbud/T-BENCH"
    every = max(1, (events - 1) // stream_events)
    versions: dict[str, int] = {}
    seq, t0 = 1, time.perf_counter()
    while seq < events:
        stmts = []
        occurred = now()
        for _ in range(min(batch, events - seq)):
            seq += 1
            stream = target if seq % every == 0 and versions.get(target, 0) < stream_events else f"tilbud/T-{seq % 2000}"
            versions[stream] = versions.get(stream, 0) + 1
            stmts.append(make_statement(
                stream=stream, stream_version=versions[stream], type="bench.Observation/1", occurred_at=occurred,
                actor=signer.actor, key_id=signer.key_id, ledger=ledger.ledger_id,
                payload={"text": "Borgerne oplever at blive inddraget i beslutninger om eget liv. " * 2,
                         "marker": f"1.{seq % 7}.{seq % 5}", "n": seq}))
        ledger.append(signer.sign_many(stmts))
        if seq % 100_000 < batch:
            print(f"  {seq:>9,} events  {time.perf_counter() - t0:6.1f} s", flush=True)
    print(f"generated {events:,} events in {time.perf_counter() - t0:.1f} s "
          f"({versions.get(target, 0)} in {target})")
    ledger.authority_signer = signer
    ledger.keystore = KeyStore(path.parent / "home")
    return ledger


def row(figure: str, goal: str, measured: str, reference: str = "") -> None:
    print(f"| {figure} | {goal} | {measured} | {reference} |", flush=True)


def command(db: Path, *args: str, runs: int = 5) -> tuple[float, float]:
    """Median ``(wall, cpu)`` seconds of ``tilsyn ARGS`` on the bench ledger, after one untimed run."""
    env = {**os.environ, "TILSYN_DB": str(db), "TILSYN_HOME": str(db.parent / "home")}
    exe = str(Path(sys.executable).with_name("tilsyn"))
    subprocess.run([exe, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([exe, *args], env=env, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--stream-events", type=int, default=500)
    ap.add_argument("--db", type=Path, help="SQLite file to create (default: a temporary directory)")
    ap.add_argument("--reuse", action="store_true", help="measure the ledger at --db again (made by an earlier run)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    tmp = None
    if args.db is None:
        tmp = Path(tempfile.mkdtemp(prefix="tilsyn-bench-"))
        args.db = tmp / "bench.db"
    elif args.db.exists() and not args.reuse:
        raise SystemExit(f"{args.db} exists; give a new path, or --reuse it")
    if args.reuse and args.db.exists():  # verified into its key home when made: only what is new is checked
        ledger = Ledger.open(str(args.db), policy(), trust_home=args.db.parent / "home")
        ledger.keystore = KeyStore(args.db.parent / "home")
    else:
        ledger = generate(args.db, args.events, args.stream_events)
    n = ledger.tree.tree_size()
    root = ledger.tree.root()
    print("| figure | goal | measured | reference |\n|---|---|---|---|")

    rng = random.Random(1)
    times = []
    for seq in rng.sample(range(1, n + 1), 100):
        t = time.perf_counter()
        proof = ledger.tree.inclusion_proof(seq)
        times.append(time.perf_counter() - t)
        # The stored record, checked by the proof itself (a verified read of one seq walks the chain to the head).
        event = next(ledger.read_unverified(after_seq=seq - 1, until_seq=seq))
        assert merkle.verify_inclusion(merkle.leaf_hash(event.record_bytes), seq - 1, n, proof, root)
    row(f"one inclusion proof (tree of {n:,}, {len(proof)} hashes, DB reads included)", "≤ 5 ms",
        f"median {statistics.median(times) * 1e3:.2f} ms, max {max(times) * 1e3:.2f} ms over 100 random seqs")

    t = time.perf_counter()
    cp = create_checkpoint(ledger, ledger.log_signer(ledger.keystore))
    row("create_checkpoint", "", f"{(time.perf_counter() - t) * 1e3:.0f} ms (size {cp.size:,})")

    t = time.perf_counter()
    data = export_bundle(ledger, "tilbud/T-BENCH")
    t_export = time.perf_counter() - t
    t = time.perf_counter()
    report = verify_bundle(data)
    t_verify = time.perf_counter() - t
    assert report.ok, report.reason
    t = time.perf_counter()
    for _ in ledger.read(stream="tilbud/T-BENCH"):
        pass
    t_read = time.perf_counter() - t
    row(f"export_bundle + verify_bundle of the {report.events}-event stream, in process", "",
        f"{t_export * 1e3:.0f} + {t_verify * 1e3:.0f} = {(t_export + t_verify) * 1e3:.0f} ms "
        f"({report.events} events + {report.key_events} key events, {len(data) / 1024:.0f} KiB)",
        f"a verified read of the stream {t_read * 1e3:.0f} ms")
    ledger.close()
    out = args.db.parent / "T-BENCH.bundle.json"
    ex_wall, ex_cpu = command(args.db, "export", "tilbud/T-BENCH", "--out", str(out))
    vb_wall, vb_cpu = command(args.db, "verify-bundle", str(out))
    version_wall, _ = command(args.db, "--version")
    row("`tilsyn export` + `tilsyn verify-bundle` of that stream, commands", "≤ 1 s",
        f"{ex_wall:.2f} + {vb_wall:.2f} = {ex_wall + vb_wall:.2f} s (cpu {ex_cpu + vb_cpu:.2f} s)",
        f"tilsyn --version {version_wall:.2f} s")

    ledger = Ledger.open(str(args.db), policy(), trust_home=args.db.parent / "home")
    t = time.perf_counter()
    cps = verify_checkpoints(ledger)
    row(f"verify_checkpoints (a full pass over {n:,} record bytes)", "", f"{time.perf_counter() - t:.1f} s, ok={cps.ok}")
    ledger.close()
    print(f"(median of 5 runs for commands; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if args.keep or tmp is None:
        print(f"ledger kept at {args.db}")
    else:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
