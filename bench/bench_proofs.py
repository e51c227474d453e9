"""Benchmark: Merkle proofs, checkpoints and evidence bundles on a large ledger. Run by hand.

    python bench/bench_proofs.py                 # 1,000,000 events (several minutes to generate)
    python bench/bench_proofs.py --events 200000 --db /tmp/bench.db --keep

Generates a ledger signed with one key (batches of 5,000 via ``Signer.sign_many`` + ``Ledger.append``),
with one 500-event tilbud spread evenly through it, then measures:
- one inclusion proof, median over 100 random seqs, including the database reads;
- creating a signed checkpoint; verifying all checkpoints (a full pass over the record bytes);
- ``export_bundle`` + ``verify_bundle`` of the 500-event stream.
Prints the figures; asserts nothing (but checks every proof it times, so the numbers are for real work).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--stream-events", type=int, default=500)
    ap.add_argument("--db", type=Path, help="SQLite file to create (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    tmp = None
    if args.db is None:
        tmp = Path(tempfile.mkdtemp(prefix="tilsyn-bench-"))
        args.db = tmp / "bench.db"
    elif args.db.exists():
        raise SystemExit(f"{args.db} exists; give a new path")
    ledger = generate(args.db, args.events, args.stream_events)
    n = ledger.tree.tree_size()
    root = ledger.tree.root()

    rng = random.Random(1)
    times = []
    for seq in rng.sample(range(1, n + 1), 100):
        t = time.perf_counter()
        proof = ledger.tree.inclusion_proof(seq)
        times.append(time.perf_counter() - t)
        event = next(ledger.read(after_seq=seq - 1, until_seq=seq))
        assert merkle.verify_inclusion(event.leaf_hash, seq - 1, n, proof, root)
    print(f"inclusion proof (tree of {n:,}, {len(proof)} hashes): median {statistics.median(times) * 1e3:.2f} ms, "
          f"max {max(times) * 1e3:.2f} ms over 100 random seqs, DB reads included")

    t = time.perf_counter()
    cp = create_checkpoint(ledger, ledger.log_signer(ledger.keystore))
    print(f"create_checkpoint: {(time.perf_counter() - t) * 1e3:.1f} ms (size {cp.size:,})")

    t = time.perf_counter()
    data = export_bundle(ledger, "tilbud/T-BENCH")
    t_export = time.perf_counter() - t
    t = time.perf_counter()
    report = verify_bundle(data)
    t_verify = time.perf_counter() - t
    assert report.ok, report.reason
    print(f"export_bundle: {t_export * 1e3:.0f} ms; verify_bundle: {t_verify * 1e3:.0f} ms; together "
          f"{(t_export + t_verify) * 1e3:.0f} ms ({report.events} events + {report.key_events} key events, "
          f"{len(data) / 1024:.0f} KiB)")

    t = time.perf_counter()
    cps = verify_checkpoints(ledger)
    print(f"verify_checkpoints (full pass over {n:,} record bytes): {time.perf_counter() - t:.1f} s, ok={cps.ok}")
    ledger.close()
    if args.keep or tmp is None:
        print(f"ledger kept at {args.db}")
    else:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
