"""Benchmark: witness round trips, verify-receipt as a command, publish as tlog-tiles. Run by hand.

    python bench/bench_witness.py --events 100000
    python bench/bench_witness.py --events 1000000 --db /tmp/bench1m.db --keep   # reuse with --db later

Measures, asserting nothing (every answer is checked, so the numbers are for real work):
- add-checkpoint round trip on loopback (httpx keep-alive client → Starlette/uvicorn witness in a thread):
  200 successive checkpoints, each with a real consistency proof from the previous size; median and p95;
- ``tilsyn verify-receipt FILE`` as a command (a fresh process, CLI start-up included), median of 10;
- ``publish`` of the whole ledger into an empty directory, then incrementally after 1,000 more events.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_proofs import generate, policy  # noqa: E402  (one generator for all ledger benchmarks)

from tilsyn.ledger import KeyStore, Ledger, create_checkpoint  # noqa: E402
from tilsyn.ledger.checkpoint import checkpoint_body, sign_note  # noqa: E402
from tilsyn.ledger.checkpoints import note_key_name  # noqa: E402
from tilsyn.ledger.cosignature import find_cosignature  # noqa: E402
from tilsyn.ledger.receipt import make_receipt  # noqa: E402
from tilsyn.ledger.tiles import publish  # noqa: E402
from tilsyn.ledger.witness import init_witness, request_body  # noqa: E402
from tilsyn.ledger.witness_server import bind, server  # noqa: E402
from tilsyn.ledger.witnessing import log_timestamp_line, log_vkey  # noqa: E402


def bench_witness(ledger: Ledger, signer, work: Path, rounds: int = 200) -> None:
    import httpx

    w = init_witness(work / "vidne", "bench.example/vidne", [log_vkey(ledger)])
    sock = bind("127.0.0.1:0")
    srv = server(w, sock)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/add-checkpoint"
    n = ledger.tree.tree_size()
    sizes = list(range(n - rounds, n + 1))
    name = note_key_name(ledger.origin)
    bodies, old = [], 0
    for size in sizes:  # prepared outside the timing: signing and proofs are the log's work, not the trip
        body = checkpoint_body(ledger.origin, size, ledger.tree.root(size))
        note = sign_note(body, name, signer.private_key) + log_timestamp_line(body, name, signer.private_key)
        proof = ledger.tree.consistency_proof(old, size) if 0 < old < size else []
        bodies.append((note, request_body(old, proof, note)))
        old = size
    times = []
    try:
        with httpx.Client() as client:
            for k, (note, body) in enumerate(bodies):
                t = time.perf_counter()
                r = client.post(url, content=body)
                dt = time.perf_counter() - t
                if r.status_code != 200 or not find_cosignature(note + r.text, w.name, w.public_key):
                    raise SystemExit(f"round {k}: HTTP {r.status_code} {r.text!r}")
                if k:  # the first carries the whole tree from size 0 and warms the connection
                    times.append(dt)
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()
    times.sort()
    print(f"add-checkpoint round trip (loopback, with consistency proof, state fsynced): "
          f"median {statistics.median(times) * 1000:.2f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms "
          f"over {len(times)}")


def bench_receipt(ledger: Ledger, work: Path, db: Path) -> None:
    seq = ledger.tree.tree_size() // 2
    receipt = work / "r.tlog-proof"
    receipt.write_text(make_receipt(ledger, seq), encoding="utf-8")
    (work / "policy.txt").write_text(f"log {log_vkey(ledger)}\nquorum none\n", encoding="utf-8")
    exe = Path(sys.executable).parent / "tilsyn"
    times = []
    for _ in range(10):
        t = time.perf_counter()
        r = subprocess.run([str(exe), "verify-receipt", str(receipt), "--policy", str(work / "policy.txt")],
                           capture_output=True, text=True, cwd=work)
        times.append(time.perf_counter() - t)
        if r.returncode != 0:
            raise SystemExit(r.stderr)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    python = time.perf_counter() - t
    print(f"tilsyn verify-receipt (a new process each): median {statistics.median(times) * 1000:.0f} ms "
          f"(a bare python start-up here: {python * 1000:.0f} ms)")


def bench_publish(ledger: Ledger, signer, log, work: Path) -> None:
    out = work / "tiles"
    t = time.perf_counter()
    result = publish(ledger, out)
    full = time.perf_counter() - t
    print(f"publish {result.size:,} events into an empty directory: {full:.1f} s "
          f"({result.written:,} files; {full / result.size * 1e6:.1f} µs/event)")
    generate_more(ledger, signer, 1000)
    create_checkpoint(ledger, log)
    t = time.perf_counter()
    result = publish(ledger, out)
    print(f"publish incrementally (+1,000 events, to {result.size:,}): {time.perf_counter() - t:.1f} s "
          f"({result.written} written, {result.unchanged:,} unchanged)")


def generate_more(ledger: Ledger, signer, count: int) -> None:
    from tilsyn.ledger.envelope import make_statement
    from tilsyn.ledger.timefmt import now

    stmts = []
    for i in range(count):
        stream = f"tilbud/T-EXTRA-{i % 10}"
        stmts.append(make_statement(stream=stream, stream_version=ledger.stream_version(stream) + 1 + i // 10,
                                    type="bench.Observation/1", occurred_at=now(), actor=signer.actor,
                                    key_id=signer.key_id, ledger=ledger.ledger_id,
                                    payload={"text": "mere", "marker": "1.1.1", "n": i}))
    ledger.append(signer.sign_many(stmts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--db", type=Path, help="SQLite file (created if missing, reused if there)")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tilsyn-bench-witness-"))
    db = args.db or work / "bench.db"
    try:
        if db.exists():
            ledger = Ledger.open(str(db), policy())
            signer = ledger.signer("Bench Tilsyn", KeyStore(db.parent / "home"))
            print(f"reusing {db}: {ledger.count():,} events")
        else:
            ledger = generate(db, args.events, 500)
            signer = ledger.authority_signer
        log = ledger.log_signer(KeyStore(db.parent / "home"))  # the ledger's own key signs checkpoints
        create_checkpoint(ledger, log)
        bench_witness(ledger, log, work)
        bench_receipt(ledger, work, db)
        bench_publish(ledger, signer, log, work)
        ledger.close()
    finally:
        if not args.keep and args.db is None:
            shutil.rmtree(work, ignore_errors=True)
        elif not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
