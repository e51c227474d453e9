"""Benchmark: opening a sealed personal field for a permitted reader (issue 10, "Figures").

Run by hand (nothing is asserted; it prints figure, goal and how it was measured):

    nice -n 10 .venv/bin/python bench/bench_readers.py [--subjects 2000] [--dir DIR]

Builds an SQLite ledger with one observation (a sealed text) for each of ``--subjects`` data subjects,
recorded by a tilsynskonsulent, then opens it again as another process would — the database, the KEK,
and the tilsynsleder's own key home — and measures ``Supervision.reveal_value`` (what ``status``,
``history`` and ``report`` call per field, the erasure check included):

- *first field*: the first field the reader opens (HPKE-opening the group key with her X25519 key,
  unwrapping the subject key under the KEK and the group key, decrypting the field);
- *new subject*: a field of a subject not opened before (group key known: subject key + field);
- *again*: a field whose subject key is already open (the erasure check and the field).

The status figure on the 1,000,000-event ledger is in bench/bench_domain.py (it acts as a
tilsynskonsulent with her own reader key and says how many personal fields were shown in clear).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tilsyn.ledger import KeyStore, Ledger
from tilsyn.ledger.personal import create_kek_file, load_kek
from tilsyn.plugins.manager import default_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.service import Supervision

GOAL_MS = 2.0


def build(directory: Path, subjects: int) -> None:
    home = directory / "home"
    create_kek_file(home)
    plugins = default_plugins()
    keystore = KeyStore(home)
    ledger, authority = Ledger.init(str(directory / "tilsyn.db"), "Socialtilsyn Øst", keystore,
                                    policy=plugins.policy(), kek=load_kek(home))
    ledger.register_key(authority, "Karen Holm", ["tilsynskonsulent"], keystore)
    ledger.register_key(authority, "Lone Dahl", ["tilsynsleder"], keystore)
    karen = ledger.signer("Karen Holm", keystore)
    sup = Supervision(ledger, plugins)
    sup.record(karen, "T-1", ev.TILBUD_REGISTERED,
               {"tilbud": "T-1", "name": "Lærkehøj", "tilbud_type": "døgntilbud", "has_board": False})
    sup.record(karen, "T-1", ev.VISIT_STARTED, {"visit": "B1", "kind": "anmeldt"})  # observations belong to a visit
    items = [(karen, "T-1", ev.OBSERVATION, {"marker": "2.3.1", "source": "borger", "method": "interview",
                                             "subject": f"B-{i}", "text": f"Borger {i} fortæller om sin hverdag."},
              None) for i in range(subjects)]
    for i in range(0, len(items), 500):
        sup.record_many(items[i:i + 500])
    ledger.close()


def measure(directory: Path) -> dict[str, list[float]]:
    home = directory / "home"
    plugins = default_plugins()
    ledger = Ledger.open(str(directory / "tilsyn.db"), plugins.policy(), kek=load_kek(home))
    ledger.signer("Lone Dahl", KeyStore(home))  # her own key home: unlocks her reader key
    sup = Supervision(ledger, plugins)
    state = sup.state("T-1", use_snapshots=False)
    observations = state.observations
    times: dict[str, list[float]] = {"first field": [], "new subject": [], "again": []}
    for n, o in enumerate(observations):
        t0 = time.perf_counter()
        text = sup.reveal("T-1", o, "text")
        times["first field" if n == 0 else "new subject"].append(time.perf_counter() - t0)
        assert text.startswith("Borger "), text
    for o in observations:
        t0 = time.perf_counter()
        sup.reveal("T-1", o, "text")
        times["again"].append(time.perf_counter() - t0)
    ledger.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--dir", type=Path, default=None, help="where to build the ledger (default: a temporary one)")
    args = ap.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="bench-readers-"))
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"Python {platform.python_version()}")
    t0 = time.perf_counter()
    build(directory, args.subjects)
    print(f"built {args.subjects} sealed fields in {time.perf_counter() - t0:.1f} s ({directory})\n")
    times = measure(directory)
    print("| figure | goal | measured (median; max) |\n|---|---|---|")
    for name, values in times.items():
        ms = [v * 1000 for v in values]
        print(f"| open a sealed field as a permitted reader, {name} ({len(ms)}) | ≤ {GOAL_MS:g} ms | "
              f"{statistics.median(ms):.3f} ms; max {max(ms):.3f} ms |")
    print(f"\nload average afterwards: {os.getloadavg()[0]:.2f}")
    if args.dir is None:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
