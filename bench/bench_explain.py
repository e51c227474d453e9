"""Benchmark of ``explain`` and of the evidence path on a large domain ledger (issue 5, "Figures").

Run by hand, after ``bench/bench_domain.py`` has generated its ledger::

    .venv/bin/python bench/bench_explain.py --db /tmp/bench1m/tilsyn.db [--samples 30]

It signs a checkpoint (as the authority) so that every node's inclusion proof is checked, then times,
for random tilbud that have a påbud: ``explain`` in process — the whole tree with every signature
verified over the stored bytes and every inclusion proof checked against the signed checkpoint — and
one inclusion proof on its own. It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from tilsyn.ledger import KeyStore, Ledger
from tilsyn.ledger.checkpoints import create_checkpoint
from tilsyn.ledger.personal import load_kek
from tilsyn.plugins.manager import load_plugins
from tilsyn.standards import events as ev
from tilsyn.standards.explain import explain, nodes
from tilsyn.standards.service import Supervision

AUTHORITY = "Socialtilsyn Øst"  # as in bench_domain.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a ledger written by bench/bench_domain.py")
    parser.add_argument("--samples", type=int, default=30, help="tilbud with a påbud to explain")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    home = args.db.with_name(args.db.name + ".keys")
    plugins = load_plugins()
    ledger = Ledger.open(str(args.db), plugins.policy(), kek=load_kek(home, required=False))
    keystore = KeyStore(home)
    t = time.perf_counter()
    checkpoint = create_checkpoint(ledger, ledger.log_signer(keystore))
    checkpoint_s = time.perf_counter() - t
    sup = Supervision(ledger, plugins)
    print(f"ledger: {checkpoint.size:,} events; checkpoint #{checkpoint.id} in {checkpoint_s * 1000:.0f} ms")

    with ledger.store.reading() as conn:
        decided = [r[0] for r in conn.exec_driver_sql(
            "SELECT DISTINCT stream FROM events WHERE type = ?", (ev.DECISION_ISSUED,))]
    rng = random.Random(args.seed)
    chosen = rng.sample(decided, min(args.samples, len(decided)))
    timings, sizes, proofs = [], [], []
    for stream in chosen:
        tilbud = stream.split("/", 1)[1]
        start = time.perf_counter()
        result = explain(sup, tilbud)
        timings.append((time.perf_counter() - start) * 1000)
        tree = [n for n in nodes(result["decision"]) if "seq" in n]
        sizes.append(len(tree) + len(result["later"]))
        assert result["all_signatures_ok"] and result["all_included"], tilbud
        seq = rng.choice(tree)["seq"]
        start = time.perf_counter()
        ledger.tree.inclusion_proof(seq, checkpoint.size)
        proofs.append((time.perf_counter() - start) * 1000)
    print(f"{'figure':<58} {'target':>10} {'measured':>12}")
    print(f"{'explain of a påbud (tree + signatures + proofs), median':<58} {'≤ 200 ms':>10} "
          f"{statistics.median(timings):>9.1f} ms")
    print(f"{'  slowest of ' + str(len(timings)):<58} {'':>10} {max(timings):>9.1f} ms")
    print(f"{'  nodes checked per explain, median':<58} {'':>10} {statistics.median(sizes):>12.0f}")
    print(f"{'one inclusion proof at the checkpoint size, median':<58} {'≤ 5 ms':>10} "
          f"{statistics.median(proofs):>9.2f} ms")
    ledger.close()


if __name__ == "__main__":
    main()
