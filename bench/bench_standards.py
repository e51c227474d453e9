"""How long loading the standards takes (issue 3: "well under a second"). Run by hand:

    .venv/bin/python bench/bench_standards.py [--runs 7]

Measures, as the median of several runs:

* ``load_plugins()`` in a fresh Python process — what every ``tilsyn`` command pays: the imports
  (pluggy, msgspec, SQLAlchemy via the kernel …), finding the entry points, reading and validating
  every standard YAML, collecting rules and checking their references. Reported twice: the whole
  process start-up to a loaded catalog, and the ``load_plugins()`` call alone (imports done).
* ``load_standard(path)`` for each built-in standard file, in a warm process.

No assertion: the figures are for the closing note, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    ROOT / "plugins" / "kvalitetsmodel" / "kvalitetsmodel-2025.yaml",
    ROOT / "plugins" / "regional_1_3" / "regional-1.3.yaml",
    ROOT / "plugins" / "opfoelgningsplan" / "opfoelgningsplan.yaml",
]

_CHILD = r"""
import time
t0 = time.perf_counter()
from tilsyn.plugins.manager import load_plugins
t1 = time.perf_counter()
plugins = load_plugins()
t2 = time.perf_counter()
print(t2 - t0, t2 - t1, len(list(plugins.catalog)), len(plugins.infos))
"""


def fresh_process(runs: int) -> tuple[list[float], list[float], int, int]:
    whole, call = [], []
    n_standards = n_plugins = 0
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True).stdout
        w, c, n_standards, n_plugins = out.split()
        whole.append(float(w))
        call.append(float(c))
    return whole, call, int(n_standards), int(n_plugins)


def per_file(runs: int) -> dict[str, list[float]]:
    from tilsyn.standards.loader import load_standard

    times: dict[str, list[float]] = {}
    for path in FILES:
        load_standard(path)  # warm the import and the file cache
        for _ in range(runs):
            t = time.perf_counter()
            load_standard(path)
            times.setdefault(path.name, []).append(time.perf_counter() - t)
    return times


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms  (min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement; the median is shown")
    args = parser.parse_args()

    whole, call, n_standards, n_plugins = fresh_process(args.runs)
    print(f"Loading the standards — median of {args.runs} runs ({sys.executable})")
    print(f"  fresh process: imports + load_plugins()   {ms(whole)}")
    print(f"  fresh process: load_plugins() alone       {ms(call)}")
    print(f"    ({n_plugins} plugins, {n_standards} standards, via the entry-point group 'tilsyn')")
    total = []
    files = per_file(args.runs)
    for name, values in files.items():
        print(f"  load_standard({name}){' ' * max(0, 27 - len(name))}{ms(values)}")
    for i in range(args.runs):
        total.append(sum(values[i] for values in files.values()))
    print(f"  all built-in standard files, warm          {ms(total)}")


if __name__ == "__main__":
    main()
