"""Every figure of issue 16 in one run, each with its reference and its goal, as one table.

    .venv/bin/python bench/bench_all.py           # the short run (`make bench`, a few minutes)
    .venv/bin/python bench/bench_all.py --full    # the sizes of the issue (long: a 1,000,000-event ledger)
    .venv/bin/python bench/bench_all.py --domain-db /tmp/bench1m/tilsyn.db   # measure an existing domain ledger

Sections (each can be skipped with --skip NAME): ``appends`` (SQLite, synchronous=FULL, against
eventsourcing and the raw-sqlite3 floor), ``writers`` (SQLite and PostgreSQL processes at once),
``commands`` (start-up ratios to ``python3 -c pass``, measured in this run), ``tilbud`` (commands on a
tilbud with 5,000 events), ``large`` (status, explain and an inclusion proof in process on the big
domain ledger). Nothing is asserted; a goal missed is shown as missed. The load average of the machine
is printed before and after: figures taken while other work runs are lower bounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_domain  # noqa: E402
import bench_ledger  # noqa: E402
import bench_writers  # noqa: E402

BIN = Path(sys.executable).parent
SECTIONS = ("appends", "writers", "commands", "tilbud", "large")


class Table:
    """Rows of figure · measured · reference · ratio · goal · met · note."""

    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str, str, str]] = []

    def add(self, figure: str, value: str, reference: str = "", ratio: float | None = None, goal: str = "",
            met: bool | None = None, note: str = "") -> None:
        if met is not None and ratio is not None and goal.startswith("≥ "):
            try:  # a goal on the ratio is judged on the ratio as shown (a shown 1.00 meets ≥ 1.0)
                met = round(ratio, 2) >= float(goal[2:])
            except ValueError:
                pass  # a goal in other units (events/s) keeps the caller's judgement
        mark = "" if met is None else ("yes" if met else "**no**")
        self.rows.append((figure, value, reference, "" if ratio is None else f"{ratio:.2f}", goal, mark, note))
        print(f"  {figure}: {value} {reference} {goal} {mark}", file=sys.stderr, flush=True)

    def markdown(self) -> str:
        head = ("figure", "measured", "reference", "ratio", "goal", "met", "note")
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 3 + ["---", "---", "---"]) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} ev/s"


# -- appends --------------------------------------------------------------------------------------
def raw_floor(workdir: Path, template: Path, n: int) -> float:
    """Seconds for ``n`` single-row transactions in plain sqlite3 with our row layout and indexes, WAL,
    synchronous=FULL: head read, one event row of a real record's size, commit (the floor of an append)."""
    src = sqlite3.connect(template)
    ddl = [r[0] for r in src.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL")]
    record = bytes(src.execute("SELECT record FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0])
    src.close()
    db = sqlite3.connect(workdir / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    for statement in ddl:
        db.execute(statement)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT seq, recorded_at, leaf_hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        db.execute("INSERT INTO events (seq, stream, stream_version, type, actor, occurred_at, recorded_at, leaf_hash, "
                   "record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (i, f"tilbud/S-{i % 10}", i // 10 + 1, bench_ledger.TYPE, "Karen", "2026-01-01T00:00:00.000000Z",
                    "2026-01-01T00:00:00.000000Z", os.urandom(32), record))
        db.execute("COMMIT")
    seconds = time.perf_counter() - t0
    db.close()
    return seconds


def appends(table: Table, workdir: Path, events: int, single: int, raw: int) -> None:
    workdir.mkdir(parents=True)
    b = bench_ledger
    sign1 = raw / b.raw_sign(raw)
    verify2 = raw / b.raw_verify(raw, 2)
    ledger, karen = b.open_ledger(workdir)
    batched = events / b.ours_batched(ledger, karen, events, 1000, 1000)
    piped = events / b.ours_pipelined(ledger, karen, events, 1000, 1000)
    one = single / b.ours_single(ledger, karen, single)
    seconds, verified = b.ours_verify(ledger)
    ledger.close()
    floor = single / raw_floor(workdir, workdir / "tilsyn.db", single)
    es_b = events / b.eventsourcing_batched(workdir / "es-b.db", events, 1000, 1000)
    es_s = single / b.eventsourcing_single(workdir / "es-s.db", single)
    ver = verified / seconds
    table.add("batched `sign_many` + `append` (1,000/txn, signed)", f"{batched:,.0f} ev/s",
              f"eventsourcing batched, unsigned: {es_b:,.0f} ev/s", batched / es_b, "≥ 1.0", batched / es_b >= 1.0)
    table.add("`append_batches` (signing in a worker process)", f"{piped:,.0f} ev/s",
              f"eventsourcing batched: {es_b:,.0f} ev/s", piped / es_b, "≥ 1.2", piped / es_b >= 1.2,
              f"raw Ed25519 sign, 1 thread: {sign1:,.0f}/s")
    table.add("one event per transaction (`Ledger.record`)", f"{one:,.0f} ev/s",
              f"eventsourcing one per save: {es_s:,.0f} ev/s", one / es_s, "≥ 1.0", one / es_s >= 1.0)
    table.add("  the same against the raw sqlite3 floor", f"{one:,.0f} ev/s",
              f"raw sqlite3, our rows, FULL: {floor:,.0f} ev/s", one / floor, "", None,
              "head read + INSERT + COMMIT, nothing signed")
    table.add("`verify_ledger`", f"{ver:,.0f} ev/s", f"0.8 × raw verify on 2 threads: {0.8 * verify2:,.0f}/s",
              ver / (0.8 * verify2), "≥ 1.0", ver / (0.8 * verify2) >= 1.0, f"{verified:,} events")


# -- writers --------------------------------------------------------------------------------------
def writers(table: Table, workdir: Path, sqlite_n: int, pg_n: int, events: int) -> None:
    workdir.mkdir(parents=True)
    for r in bench_writers.measure(sqlite_n, pg_n, events, workdir):
        value = "" if r["value"] is None else f"{r['value']:,.0f} {r['unit']}"
        ref = f"{r['ref_name']}: {r['reference']:,.0f} ev/s" if r.get("reference") else ""
        goal = r.get("goal", "")
        met = None
        if isinstance(goal, (int, float)):
            met, goal = r["value"] >= goal, f"≥ {goal:,} ev/s"
        elif goal:
            met = r["note"].startswith("exit 2, one line")
        table.add(r["figure"], value, ref, r["value"] / r["reference"] if r.get("reference") else None, goal, met,
                  r.get("note", ""))


# -- commands -------------------------------------------------------------------------------------
def timed(argv: list[str], env: dict, runs: int) -> float:
    """Median seconds of ``runs`` runs (hyperfine when installed, else a plain loop), after one warm-up."""
    if shutil.which("hyperfine"):
        out = Path(tempfile.mkstemp(suffix=".json")[1])
        cmd = " ".join(_quote(a) for a in argv)
        subprocess.run(["hyperfine", "-N", "-w", "2", "-r", str(runs), "--export-json", str(out), cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        import json

        result = json.loads(out.read_text())["results"][0]
        out.unlink()
        return result["median"]
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def command_env(db: Path, home: Path) -> dict:
    """An installation's environment: byte code cached (in a private directory), the ledger and key home."""
    env = dict(os.environ, TILSYN_DB=str(db), TILSYN_HOME=str(home),
               PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "tilsyn-bench-pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("TILSYN_ACTOR", None)
    return env


def commands(table: Table, workdir: Path, runs: int) -> None:
    demo = workdir / "demo"
    subprocess.run([str(BIN / "tilsyn"), "demo", "--dir", str(demo), "--fresh"], env=command_env(demo / "x", demo),
                   stdout=subprocess.DEVNULL, check=True, cwd=workdir)
    env = command_env(demo / "tilsyn.db", demo)
    bare = timed([sys.executable, "-c", "pass"], env, runs)
    tilsyn = str(BIN / "tilsyn")
    version = timed([tilsyn, "--version"], env, runs)
    helped = timed([tilsyn, "--help"], env, runs)
    status = timed([tilsyn, "status", "T-1001"], env, runs)
    ref = f"`python3 -c pass`: {bare * 1000:.0f} ms"
    table.add("`tilsyn --version`", f"{version * 1000:.0f} ms", ref, version / bare, "≤ 3×", version / bare <= 3)
    table.add("`tilsyn --help`", f"{helped * 1000:.0f} ms", ref, helped / bare, "", None)
    table.add("`tilsyn status T-1001` on the demo ledger", f"{status * 1000:.0f} ms", ref, status / bare, "≤ 8×",
              status / bare <= 8)


# -- a tilbud with 5,000 events ---------------------------------------------------------------------
def tilbud(table: Table, workdir: Path, runs: int) -> None:
    db = workdir / "t5k" / "tilsyn.db"
    bench_domain.generate(db, 5000, 1, 5000, 2026, 1)
    home = bench_domain.keyhome_of(db)
    env = command_env(db, home)
    tilsyn = str(BIN / "tilsyn")
    goals = {"history": 0.5, "status": 0.3, "explain": 0.5, "report": 1.0}
    for name in goals:
        argv = [tilsyn, name, "T-0001"] + (["--out", str(workdir / "r.html")] if name == "report" else [])
        seconds = timed(argv, env, runs)
        table.add(f"`tilsyn {name} T` (5,000 events)", f"{seconds:.2f} s", "", None, f"≤ {goals[name]} s",
                  seconds <= goals[name], "helper speed owns report" if name == "report" else "")


# -- the large domain ledger -------------------------------------------------------------------------
def large(table: Table, workdir: Path, db: Path | None, events: int, samples: int) -> None:
    from tilsyn.ledger import KeyStore, Ledger
    from tilsyn.ledger.checkpoints import create_checkpoint
    from tilsyn.plugins.manager import default_plugins
    from tilsyn.standards import events as ev
    from tilsyn.standards.explain import explain
    from tilsyn.standards.service import Supervision

    if db is None:
        db = workdir / "domain" / "tilsyn.db"
        print(f"  generating a {events:,}-event domain ledger …", file=sys.stderr, flush=True)
        bench_domain.generate(db, events, max(1, events // 200), 5000, 2026, 100)
    home = bench_domain.keyhome_of(db)
    plugins = default_plugins()
    ledger = Ledger.open(str(db), plugins.policy(), trust_home=home, **bench_domain.kek_of(home))
    sup = Supervision(ledger, plugins)
    size = ledger.count()
    rng = random.Random(7)
    ids = sorted(bench_domain.tilbud_sizes(ledger))
    sample = rng.sample(ids, min(samples, len(ids)))
    bench_domain.status_in_process(sup, sample[:5], use_snapshots=True)  # warm
    timing = bench_domain.status_in_process(sup, sample, use_snapshots=True)
    what = f"{size:,}-event ledger"
    table.add(f"status in process ({what})", f"{timing['total']:.1f} ms", "", None, "≤ 50 ms",
              timing["total"] <= 50, f"median of {len(sample)} tilbud; state {timing['state']:.1f}, summarise "
              f"{timing['summarise']:.1f}, findings {timing['findings']:.1f} ms")
    checkpoint = create_checkpoint(ledger, ledger.log_signer(KeyStore(home)))
    with ledger.store.reading() as conn:
        decided = sorted({r[0] for r in conn.exec_driver_sql("SELECT stream FROM events WHERE type = ?",
                                                             (ev.DECISION_ISSUED,))})
    chosen = rng.sample(decided, min(samples, len(decided)))
    times, proofs = [], []
    for stream in chosen:
        t0 = time.perf_counter()
        result = explain(sup, stream.split("/", 1)[1])
        times.append((time.perf_counter() - t0) * 1000)
        seq = result["decision"]["seq"]
        t0 = time.perf_counter()
        ledger.tree.inclusion_proof(seq, checkpoint.size)
        proofs.append((time.perf_counter() - t0) * 1000)
    if times:
        table.add(f"explain in process ({what})", f"{statistics.median(times):.1f} ms", "", None, "≤ 200 ms",
                  statistics.median(times) <= 200, f"median of {len(times)} påbud; tree, signatures, inclusion proofs")
        table.add(f"inclusion proof ({what})", f"{statistics.median(proofs):.2f} ms", "", None, "≤ 5 ms",
                  statistics.median(proofs) <= 5)
    ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the issue's sizes (long; default: the short run)")
    ap.add_argument("--domain-db", type=Path, help="an existing bench_domain.py ledger for the 'large' section")
    ap.add_argument("--skip", action="append", default=[], choices=SECTIONS, help="leave a section out")
    ap.add_argument("--dir", type=Path, help="where the databases go (default: a temporary directory)")
    args = ap.parse_args()
    full = args.full
    workdir = Path(tempfile.mkdtemp(prefix="tilsyn-bench-all-", dir=args.dir))
    table = Table()
    load = os.getloadavg()
    started = time.perf_counter()
    try:
        if "appends" not in args.skip:
            appends(table, workdir / "appends", *((50_000, 3_000, 20_000) if full else (10_000, 1_000, 5_000)))
        if "writers" not in args.skip:
            writers(table, workdir / "writers", 4, 8, 500 if full else 100)
        if "commands" not in args.skip:
            commands(table, workdir, 20 if full else 10)
        if "tilbud" not in args.skip:
            tilbud(table, workdir, 5 if full else 3)
        if "large" not in args.skip:
            large(table, workdir, args.domain_db, 1_000_000 if full else 20_000, 30 if full else 10)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    after = os.getloadavg()
    print(f"\ntilsyn-ledger bench_all ({'full' if full else 'short'}) · {platform.python_implementation()} "
          f"{platform.python_version()} · SQLite {sqlite3.sqlite_version} · {os.cpu_count()} CPUs · load average "
          f"{load[0]:.1f} before, {after[0]:.1f} after · {time.perf_counter() - started:.0f} s\n")
    print(table.markdown())


if __name__ == "__main__":
    main()
