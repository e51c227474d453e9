"""Many writers at once (issue 16, item 2): processes appending one event at a time to one ledger.

Run by hand (nothing is asserted; it prints a table)::

    .venv/bin/python bench/bench_writers.py [--sqlite-writers 4] [--pg-writers 8] [--events 200]

- SQLite: ``--sqlite-writers`` processes, each ``Ledger.record`` one event per transaction, all at once on
  one file (WAL, ``synchronous=FULL``): events/s over all of them, the longest single append (its wait
  for the write lock included), and how many appends failed (none may: a writer waits up to the busy
  timeout). Then a write lock held past a short busy timeout: ``tilsyn`` must answer with one line and
  exit 2, never a traceback.
- PostgreSQL (``$TILSYN_TEST_PG``, default ``postgresql+psycopg://127.0.0.1:5432/test``, a schema of its
  own): ``--pg-writers`` processes appending one event at a time, and as the reference the same number
  of processes running a plain ``INSERT`` loop of rows of the same size under the same advisory lock
  (``BEGIN; pg_advisory_xact_lock; read the head; INSERT; COMMIT``). Afterwards the ledger is verified
  from the stored bytes: no gap, no fork, every event there.

Every writer returns only once its transaction has committed (``synchronous_commit`` is the server's,
``on`` by default). Processes start together at a fixed instant after they have opened the ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_ledger import AUTHORITY, TYPE, policy, text  # noqa: E402

PG_URL = os.environ.get("TILSYN_TEST_PG", "postgresql+psycopg://127.0.0.1:5432/test")


def writer_names(n: int) -> list[str]:
    return [f"Skriver {i + 1}" for i in range(n)]


def setup(url: str, home: Path, writers: int) -> None:
    from tilsyn.ledger import KeyStore, Ledger

    keystore = KeyStore(home)
    ledger, authority = Ledger.init(url, AUTHORITY, keystore, policy=policy())
    for name in writer_names(writers):
        ledger.register_key(authority, name, ["tilsynskonsulent"], keystore)
    ledger.close()


def worker_ledger(url: str, home: str, name: str, events: int, start_at: float, group: bool = True) -> dict:
    """One writer: open, wait for the common start, append ``events`` one by one; latencies in ms."""
    from tilsyn.ledger import KeyStore, Ledger

    ledger = Ledger.open(url, policy(), group_commit=group)  # off: each append commits on its own
    signer = ledger.signer(name, KeyStore(home))
    stream = f"tilbud/{name.split()[-1]}"
    time.sleep(max(0.0, start_at - time.time()))
    latencies, errors = [], {}
    t_first = time.perf_counter()
    for i in range(events):
        t0 = time.perf_counter()
        try:
            ledger.record(signer, stream, TYPE, {"text": text(i), "n": i})
        except Exception as e:  # noqa: BLE001 - counted and shown: none may happen
            key = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
            errors[key] = errors.get(key, 0) + 1
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - t_first
    ledger.close()
    return {"latencies": latencies, "errors": errors, "wall": wall}


def worker_plain_pg(url: str, events: int, start_at: float, size: int) -> dict:
    """The reference: a plain INSERT loop under the ledger's advisory lock, rows as large as ours."""
    import psycopg

    from tilsyn.ledger.store import _PG_LOCK_KEY

    dsn, _, query = url.replace("postgresql+psycopg://", "postgresql://").partition("?")
    options = query.split("options=", 1)[1].replace("%3D", "=") if "options=" in query else ""
    conn = psycopg.connect(dsn, options=options)
    time.sleep(max(0.0, start_at - time.time()))
    latencies = []
    t_first = time.perf_counter()
    blob = os.urandom(size)
    for i in range(events):
        t0 = time.perf_counter()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK_KEY,))
            head = conn.execute("SELECT seq FROM plain_events ORDER BY seq DESC LIMIT 1").fetchone()
            seq = (head[0] if head else 0) + 1
            conn.execute("INSERT INTO plain_events (seq, stream, stream_version, type, actor, occurred_at, "
                         "recorded_at, leaf_hash, record) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                         (seq, f"tilbud/{os.getpid()}", i + 1, TYPE, "x", "t", "t", blob[:32], blob))
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - t_first
    conn.close()
    return {"latencies": latencies, "errors": {}, "wall": wall}


def run_workers(args_list: list[list[str]]) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", *a], stdout=subprocess.PIPE, text=True)
             for a in args_list]
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=1800)
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def summarise(results: list[dict], wall: float) -> dict:
    lat = [x for r in results for x in r["latencies"]]
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    ok = len(lat) - sum(errors.values())
    return {"events": ok, "rate": ok / wall, "longest_ms": max(lat), "median_ms": statistics.median(lat),
            "errors": errors, "wall": wall}


def concurrent(make_args, writers: int, warmup: float = 2.0) -> dict:
    """Start ``writers`` workers together (``make_args(i, start_at)`` gives each one's arguments)."""
    start_at = time.time() + warmup + 0.3 * writers  # time to start the interpreters and open the ledger
    results = run_workers([make_args(i, start_at) for i in range(writers)])
    return summarise(results, max(r["wall"] for r in results))  # from the common start to the last one's end


def verify_url(url: str, expected: int) -> str:
    from tilsyn.ledger import verify_ledger
    from tilsyn.ledger.store import Store

    store = Store.connect(url)
    try:
        report = verify_ledger(store, policy())
    finally:
        store.dispose()
    if not report.ok:
        return f"NOT OK: {report.first.seq}: {report.first.message}"
    return "ok" if report.events == expected else f"{report.events} events, expected {expected}"


def lock_past_timeout(db: Path, home: Path) -> str:
    """Hold the write lock past a 1-second busy timeout; what does a user's append answer?"""
    holder = sqlite3.connect(db, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        env = dict(os.environ, TILSYN_BUSY_TIMEOUT="1", TILSYN_DB=str(db), TILSYN_HOME=str(home))
        tilsyn = Path(sys.executable).with_name("tilsyn")
        done = subprocess.run([str(tilsyn), "--as", AUTHORITY, "keys", "add", "Ny Person", "--role", "tilsynskonsulent"],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lines = done.stderr.strip().splitlines()
    one_line = len(lines) == 1 and lines[0].startswith("tilsyn: error: ") and "Traceback" not in done.stderr
    return f"exit {done.returncode}, {'one line' if one_line else 'NOT one line'}: {lines[0] if lines else ''}"


def pg_schema() -> tuple[str, str] | None:
    """A fresh schema on the test server and its URL, or None (with the reason printed) if unreachable."""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
        with engine.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - the reason is shown
        print(f"  (PostgreSQL not reachable at {PG_URL}: {type(e).__name__}; skipped)", file=sys.stderr)
        return None
    return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def measure(sqlite_writers: int, pg_writers: int, events: int, workdir: Path) -> list[dict]:
    """Every figure of this benchmark as rows ``{figure, value, unit, reference, goal, ...}``."""
    rows = []
    if sqlite_writers:
        db, home = workdir / "writers.db", workdir / "writers-home"
        setup(str(db), home, sqlite_writers)
        names = writer_names(sqlite_writers)
        print(f"  SQLite: {sqlite_writers} writers × {events} events …", file=sys.stderr, flush=True)
        s = concurrent(lambda i, at: ["ledger", str(db), str(home), names[i], str(events), repr(at), "-"], sqlite_writers)
        checked = verify_url(str(db), events * sqlite_writers + 2 + sqlite_writers)
        rows.append({"figure": f"SQLite, {sqlite_writers} processes appending at once", "value": s["rate"],
                     "unit": "events/s", "note": f"longest append {s['longest_ms']:.0f} ms (median "
                     f"{s['median_ms']:.1f}); failed appends: {sum(s['errors'].values())}"
                     f"{' ' + json.dumps(s['errors'], ensure_ascii=False) if s['errors'] else ''}; verify {checked}"})
        rows.append({"figure": "SQLite, write lock held past the busy timeout (1 s)", "value": None, "unit": "",
                     "note": lock_past_timeout(db, home), "goal": "exit 2, one line"})
    if pg_writers:
        found = pg_schema()
        if found is not None:
            schema, url = found
            try:
                setup(url, workdir / "pg-home", pg_writers)
                names = writer_names(pg_writers)
                print(f"  PostgreSQL: {pg_writers} writers × {events} events …", file=sys.stderr, flush=True)
                ours = concurrent(lambda i, at: ["ledger", url, str(workdir / "pg-home"), names[i], str(events),
                                                 repr(at), "group"], pg_writers)  # Ledger.open(group_commit=True)
                checked = verify_url(url, events * pg_writers + 2 + pg_writers)
                print(f"  PostgreSQL: the same without group commit …", file=sys.stderr, flush=True)
                single = concurrent(lambda i, at: ["ledger", url, str(workdir / "pg-home"), names[i], str(events),
                                                   repr(at), "-"], pg_writers)
                checked2 = verify_url(url, 2 * events * pg_writers + 2 + pg_writers)
                from tilsyn.ledger.store import Store

                store = Store.connect(url)
                with store.writing() as conn:
                    size = conn.exec_driver_sql("SELECT avg(length(record)) FROM events").scalar()
                    conn.exec_driver_sql("CREATE TABLE plain_events (LIKE events INCLUDING ALL)")
                store.dispose()
                print(f"  PostgreSQL: plain INSERT loop, {pg_writers} processes × {events} …", file=sys.stderr,
                      flush=True)
                plain = concurrent(lambda i, at: ["plain", url, str(events), repr(at), str(int(size))], pg_writers)
                rows.append({"figure": f"PostgreSQL, {pg_writers} processes appending one event at a time, group commit",
                             "value": ours["rate"], "unit": "events/s", "goal": 1500,
                             "reference": plain["rate"], "ref_name": "plain INSERT loop, same lock",
                             "note": f"longest {ours['longest_ms']:.0f} ms; failed: {sum(ours['errors'].values())}"
                                     f"{' ' + json.dumps(ours['errors'], ensure_ascii=False) if ours['errors'] else ''}"
                                     f"; verify {checked} (no gap, no fork)"})
                rows.append({"figure": "  the same, each append its own transaction (the default)",
                             "value": single["rate"], "unit": "events/s", "reference": plain["rate"],
                             "ref_name": "plain INSERT loop, same lock",
                             "note": f"longest {single['longest_ms']:.0f} ms; verify {checked2}"})
            finally:
                drop_schema(schema)
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "ledger":
            url, home, name, events, at, group = rest
            result = worker_ledger(url, home, name, int(events), float(at), group == "group")
        else:
            url, events, at, size = rest
            result = worker_plain_pg(url, int(events), float(at), int(size))
        print(json.dumps(result))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sqlite-writers", type=int, default=4, help="SQLite writer processes (0: skip)")
    ap.add_argument("--pg-writers", type=int, default=8, help="PostgreSQL writer processes (0: skip)")
    ap.add_argument("--events", type=int, default=200, help="events each writer appends")
    ap.add_argument("--dir", type=Path, help="where the SQLite file goes (default: a temporary directory)")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tilsyn-writers-", dir=args.dir))
    for r in measure(args.sqlite_writers, args.pg_writers, args.events, workdir):
        value = "" if r["value"] is None else f"{r['value']:,.0f} {r['unit']}"
        ref = f"{r['reference']:,.0f} ({r['ref_name']}); ratio {r['value'] / r['reference']:.2f}" if r.get("reference") else ""
        print(f"| {r['figure']} | {value} | {ref} | {r.get('goal', '')} | {r.get('note', '')} |")


if __name__ == "__main__":
    main()
