"""Benchmark of the ledger kernel on an SQLite file, with references measured in the same run.

Run by hand (nothing is asserted; it prints a table):

    .venv/bin/pip install -e '.[bench]'          # once: the eventsourcing reference
    .venv/bin/python bench/bench_ledger.py [--events 100000] [--single 5000]

Figures (events per second, wall clock):

- ours, batched: ``Signer.sign_many`` + ``Ledger.append``, 1,000 events per transaction, spread over
  1,000 streams; building the statements is counted too;
- ours, one event per transaction: ``Ledger.record``;
- ours, ``verify_ledger`` over everything written above;
- raw Ed25519 signing (one thread) and verifying (one thread, and two threads: cryptography releases
  the GIL), on statement-sized data;
- eventsourcing 9.5 (``eventsourcing.sqlite``, WAL, SQLite's default ``synchronous=FULL``): the same
  number of *unsigned* events in batches of 1,000 across 1,000 aggregates, and one event per ``save``.

Both databases are SQLite files in WAL mode with ``synchronous=FULL`` in a temporary directory (or
``--dir``), on the same disk.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tilsyn.ledger import EventType, KeyStore, Ledger, Policy, verify_ledger
from tilsyn.ledger.envelope import encode_statement, make_statement

AUTHORITY = "Socialtilsyn Øst"
TYPE = "bench.Note/1"


class Note(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    n: int = 0


def policy() -> Policy:
    p = Policy()
    p.register(EventType(TYPE, frozenset({"tilsynskonsulent"}), Note))
    return p


def text(i: int) -> str:
    return f"Observation {i}: beboerne fortæller om hverdagen på tilbuddet, og personalet bekræfter det."


class Timer:
    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


# -- ours ------------------------------------------------------------------------------------------

def open_ledger(workdir: Path):
    keystore = KeyStore(workdir / "home")
    ledger, authority = Ledger.init(str(workdir / "tilsyn.db"), AUTHORITY, keystore, policy=policy())
    ledger.register_key(authority, "Karen", ["tilsynskonsulent"], keystore)
    return ledger, ledger.signer("Karen", keystore)


def ours_pipelined(ledger: Ledger, karen, events: int, batch: int, streams: int) -> float:
    """The bulk-load API: the next batch is signed on the other core while this one is written."""
    def batches():
        for start in range(0, events, batch):
            yield [ledger.statement(karen, f"tilbud/P-{j % streams:04d}", TYPE, {"text": text(j), "n": j},
                                    stream_version=j // streams + 1)
                   for j in range(start, min(start + batch, events))]

    with Timer() as t:
        for _ in ledger.append_batches(karen, batches()):
            pass
    return t.seconds


def ours_batched(ledger: Ledger, karen, events: int, batch: int, streams: int) -> float:
    with Timer() as t:
        for start in range(0, events, batch):
            statements = [
                ledger.statement(karen, f"tilbud/T-{j % streams:04d}", TYPE, {"text": text(j), "n": j},
                                 stream_version=j // streams + 1)
                for j in range(start, min(start + batch, events))
            ]
            ledger.append(karen.sign_many(statements))
    return t.seconds


def ours_single(ledger: Ledger, karen, events: int) -> float:
    with Timer() as t:
        for j in range(events):
            ledger.record(karen, f"tilbud/S-{j % 10}", TYPE, {"text": text(j), "n": j})
    return t.seconds


def ours_verify(ledger: Ledger) -> tuple[float, int]:
    with Timer() as t:
        report = verify_ledger(ledger.store, ledger.policy)
    if not report.ok:
        print(f"  (verify found problems: {report.problems[:3]})", file=sys.stderr)
    return t.seconds, report.events


# -- raw Ed25519 -----------------------------------------------------------------------------------

def sample_statement_bytes(key_id: str) -> bytes:
    stmt = make_statement(stream="tilbud/T-0001", stream_version=1, type=TYPE, occurred_at="2025-01-01T00:00:00.000000Z",
                          actor="Karen", key_id=key_id, ledger="0" * 32, payload={"text": text(1), "n": 1})
    return encode_statement(stmt)


def raw_sign(n: int) -> float:
    key = Ed25519PrivateKey.generate()
    data = sample_statement_bytes("0" * 16)
    with Timer() as t:
        for _ in range(n):
            key.sign(data)
    return t.seconds


def raw_verify(n: int, threads: int) -> float:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    data = sample_statement_bytes("0" * 16)
    sigs = [key.sign(data) for _ in range(n)]

    def part(chunk):
        for s in chunk:
            pub.verify(s, data)

    chunks = [sigs[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool, Timer() as t:
        list(pool.map(part, chunks))
    return t.seconds


# -- eventsourcing ---------------------------------------------------------------------------------

def eventsourcing_app(dbfile: Path):
    from eventsourcing.application import Application

    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(dbfile)})


@functools.cache  # the library registers each class by its topic: define it once
def eventsourcing_classes():
    from eventsourcing.domain import Aggregate, event

    class Tilbud(Aggregate):
        @event("Opened")
        def __init__(self, name: str):
            self.name = name
            self.notes = 0

        @event("Noted")
        def note(self, text: str, n: int):
            self.notes += 1

    return Tilbud


def eventsourcing_batched(dbfile: Path, events: int, batch: int, aggregates: int) -> float:
    Tilbud = eventsourcing_classes()
    app = eventsourcing_app(dbfile)
    with Timer() as t:
        tilbud = [Tilbud(name=f"T-{i:04d}") for i in range(aggregates)]  # one "Opened" event each
        written = len(tilbud)
        for start in range(0, aggregates, batch):
            app.save(*tilbud[start:start + batch])
        j = 0
        while written < events:
            todo = min(batch, events - written)
            touched = []
            for k in range(todo):
                agg = tilbud[(j + k) % aggregates]
                agg.note(text=text(written + k), n=written + k)
                touched.append(agg)
            app.save(*{a.id: a for a in touched}.values())  # each aggregate once, with its pending events
            j += todo
            written += todo
    app.close()
    return t.seconds


def eventsourcing_single(dbfile: Path, events: int) -> float:
    Tilbud = eventsourcing_classes()
    app = eventsourcing_app(dbfile)
    tilbud = Tilbud(name="T-single")
    with Timer() as t:
        app.save(tilbud)
        for j in range(events - 1):
            tilbud.note(text=text(j), n=j)
            app.save(tilbud)
    app.close()
    return t.seconds


# -- report ----------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000, help="events for the batched runs and verify")
    ap.add_argument("--batch", type=int, default=1_000, help="events per transaction in the batched runs")
    ap.add_argument("--streams", type=int, default=1_000, help="streams (aggregates) in the batched runs")
    ap.add_argument("--single", type=int, default=5_000, help="events for the one-per-transaction runs")
    ap.add_argument("--raw", type=int, default=20_000, help="operations for the raw Ed25519 loops")
    ap.add_argument("--dir", type=Path, help="where to put the databases (default: a temporary directory)")
    ap.add_argument("--no-eventsourcing", action="store_true", help="skip the eventsourcing reference")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tilsyn-bench-", dir=args.dir))
    rows: list[tuple[str, int, float]] = []

    def row(name: str, n: int, seconds: float) -> float:
        rate = n / seconds
        rows.append((name, n, seconds))
        print(f"  {name:<52} {n:>8,} in {seconds:7.2f} s = {rate:>9,.0f} /s", file=sys.stderr, flush=True)
        return rate

    print(f"tilsyn-ledger benchmark · {platform.python_implementation()} {platform.python_version()} · "
          f"{os.cpu_count()} CPUs · {workdir}", file=sys.stderr)
    try:
        sign_1 = row("raw Ed25519 sign, 1 thread", args.raw, raw_sign(args.raw))
        verify_1 = row("raw Ed25519 verify, 1 thread", args.raw, raw_verify(args.raw, 1))
        verify_2 = row("raw Ed25519 verify, 2 threads", args.raw, raw_verify(args.raw, 2))

        ledger, karen = open_ledger(workdir)
        with ledger.store.reading() as conn:
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        ours_b = row(f"ours: batched append ({args.batch:,}/txn, signed)", args.events,
                     ours_batched(ledger, karen, args.events, args.batch, args.streams))
        ours_p = row(f"ours: append_batches ({args.batch:,}/txn, signed, pipelined)", args.events,
                     ours_pipelined(ledger, karen, args.events, args.batch, args.streams))
        ours_s = row("ours: one event per transaction (signed)", args.single, ours_single(ledger, karen, args.single))
        seconds, verified = ours_verify(ledger)
        ours_v = row("ours: verify_ledger", verified, seconds)
        ledger.close()

        es_b = es_s = None
        if not args.no_eventsourcing:
            try:
                import eventsourcing  # noqa: F401
            except ImportError:
                print("  (eventsourcing is not installed: pip install -e '.[bench]')", file=sys.stderr)
            else:
                es_b = row(f"eventsourcing: batched save ({args.batch:,}/txn, unsigned)", args.events,
                           eventsourcing_batched(workdir / "es-batched.db", args.events, args.batch, args.streams))
                es_s = row("eventsourcing: one event per save (unsigned)", args.single,
                           eventsourcing_single(workdir / "es-single.db", args.single))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(f"SQLite {sqlite3.sqlite_version}: journal_mode={journal}, synchronous={sync} (2 = FULL)")
    print()
    print(f"| {'measurement':<54} | {'events':>8} | {'seconds':>7} | {'events/s':>9} |")
    print(f"|{'-' * 56}|{'-' * 9}:|{'-' * 8}:|{'-' * 10}:|")
    for name, n, seconds in rows:
        print(f"| {name:<54} | {n:>8,} | {seconds:>7.2f} | {n / seconds:>9,.0f} |")
    print()
    print("| ratio (goal)                                               |  value |")
    print("|------------------------------------------------------------|-------:|")

    def ratio(name: str, value: float | None) -> None:
        print(f"| {name:<58} | {'n/a' if value is None else f'{value:.2f}':>6} |")

    ratio("ours batched / eventsourcing batched (>= 1)", ours_b / es_b if es_b else None)
    ratio("ours batched / raw sign, 1 thread", ours_b / sign_1)
    ratio("ours append_batches / eventsourcing batched (>= 1)", ours_p / es_b if es_b else None)
    ratio("ours append_batches / raw sign, 1 thread", ours_p / sign_1)
    ratio("ours one-per-txn / eventsourcing one-per-save (>= 1)", ours_s / es_s if es_s else None)
    ratio("ours verify / (0.8 x raw verify on 2 threads) (>= 1)", ours_v / (0.8 * verify_2))
    ratio("raw verify 2 threads / 1 thread", verify_2 / verify_1)


if __name__ == "__main__":
    main()
