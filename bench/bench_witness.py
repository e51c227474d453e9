"""Benchmark: witness round trips, verify-receipt as a command, publish as tlog-tiles. Run by hand.

    python bench/bench_witness.py --events 100000
    python bench/bench_witness.py --events 1000000 --db /tmp/bench1m.db --keep   # reuse with --db later

Prints a Markdown table (figure, goal, measured, reference), asserting nothing (every answer is
checked, so the numbers are for real work):
- add-checkpoint round trip on loopback (httpx keep-alive client → Starlette/uvicorn witness in a thread):
  200 successive checkpoints, each with a real consistency proof from the previous size; median and p95;
- ``tilsyn verify-receipt FILE`` as a command (a fresh process, CLI start-up included), median of 10;
- ``publish`` of the whole ledger into an empty directory, then incrementally after 1,000 more events.
"""

from __future__ import annotations

import argparse
import os
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
    row("add-checkpoint round trip (loopback, consistency proof, state fsynced)", "≤ 20 ms",
        f"median {statistics.median(times) * 1000:.1f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms "
        f"over {len(times)}", f"an fsync here {fsync_ms(work):.1f} ms")


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
    bare = startup(["-c", "pass"])
    floor = startup(["-c", "import msgspec, hashlib, zoneinfo, cryptography.hazmat.primitives.asymmetric.ed25519"])
    row("tilsyn verify-receipt FILE --policy P (a new process each, median of 10)", "≤ 50 ms",
        f"{statistics.median(times) * 1000:.0f} ms",
        f"python -c pass {bare * 1000:.0f} ms; python importing msgspec, hashlib, zoneinfo, Ed25519 {floor * 1000:.0f} ms")


def bench_publish(ledger: Ledger, signer, log, work: Path) -> None:
    out = work / "tiles"
    t = time.perf_counter()
    result = publish(ledger, out)
    full = time.perf_counter() - t
    t = time.perf_counter()
    read = sum(len(e.record_bytes) for e in ledger.read())
    reference = time.perf_counter() - t
    row(f"publish {result.size:,} events into an empty directory", "≤ 60 s" if result.size >= 1_000_000 else "",
        f"{full:.1f} s ({result.written:,} files; {full / result.size * 1e6:.1f} µs/event)",
        f"a verified read of every record ({read / 2**20:,.0f} MiB) {reference:.1f} s")
    generate_more(ledger, signer, 1000)
    create_checkpoint(ledger, log)
    t = time.perf_counter()
    result = publish(ledger, out)
    row(f"publish incrementally (+1,000 events, to {result.size:,})", "",
        f"{time.perf_counter() - t:.1f} s ({result.written} written, {result.unchanged:,} unchanged)", "")


def row(figure: str, goal: str, measured: str, reference: str) -> None:
    print(f"| {figure} | {goal} | {measured} | {reference} |", flush=True)


def startup(args: list[str], runs: int = 10) -> float:
    """The median wall-clock time of ``python ARGS`` in a new process."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fsync_ms(work: Path) -> float:
    """One small write + fsync + rename in the work directory (what the witness does per answer), in ms."""
    import os

    times = []
    for i in range(20):
        t = time.perf_counter()
        tmp = work / f"fsync-{i}.tmp"
        with open(tmp, "wb") as f:
            f.write(b"x" * 200)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, work / "fsync.state")
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


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
        if db.exists():  # verified once into its key home, then only what is new since
            ledger = Ledger.open(str(db), policy(), trust_home=db.parent / "home")
            signer = ledger.signer("Bench Tilsyn", KeyStore(db.parent / "home"))
            print(f"reusing {db}: {ledger.count():,} events", file=sys.stderr)
        else:
            ledger = generate(db, args.events, 500)
            signer = ledger.authority_signer
        log = ledger.log_signer(KeyStore(db.parent / "home"))  # the ledger's own key signs checkpoints
        create_checkpoint(ledger, log)
        print(f"| figure | goal | measured | reference |\n|---|---|---|---|", flush=True)
        bench_witness(ledger, log, work)
        bench_receipt(ledger, work, db)
        bench_publish(ledger, signer, log, work)
        ledger.close()
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    finally:
        if not args.keep and args.db is None:
            shutil.rmtree(work, ignore_errors=True)
        elif not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
