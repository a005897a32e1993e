"""schedfuzz benchmark suite: every figure a ratio or a count measured side by side in one run.

    python benchmarks/bench.py [--quick] [--json | --markdown] [--memory] [--only SECTION ...]

Sections (each a function returning a flat dict of figures):

* ``switch``: ``raw_switch_ns`` (a bare greenlet switch round trip), ``step_ns`` (one scheduler
  step of a trivial two-actor program through the full run loop under a seeded random oracle)
  and ``step_overhead_ratio`` (their ratio; the target is 3 or less), measured interleaved so that
  machine noise hits both alike. ``step_fingerprint_ns`` is the same step once lasso detection
  fingerprints every state (runs longer than ``Settings.lasso_after`` steps).
* ``hypothesis``: the figures of ``benchmarks/bench_hypothesis.py`` if it exists.
* ``engines``: schedules per second of each engine on the ``thp.*`` scenarios (skipped when none
  are registered) and on the demo scenarios.
* ``first_failure``: schedules and seconds to the first failure of every buggy scenario under
  each engine, the median over several seeds; the shrunk reproducer's preemptions against the
  minimum the exhaustive engine proves.
* ``stateful``: states explored and states per second of the stateful exhaustive search on the
  clean scenarios that declare a snapshot.
* ``threads``: the same bugs written with real ``threading`` threads under
  ``sys.setswitchinterval(1e-6)``, run for the same time budget: what a Python user has today.
* ``memory`` (only with ``--memory``): RSS growth over 100,000 runs of a small scenario.

``--quick --json`` finishes in well under a minute on two cores and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import greenlet

import schedfuzz
from schedfuzz._core.oracle import RandomOracle
from schedfuzz._core.runner import Runner
from schedfuzz.settings import Settings

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

Figures = dict[str, Any]


# -- switch: the cost of one scheduler step against a bare greenlet switch -----------------------


def _raw_switch_ns(n: int) -> float:
    """A hub -> actor -> hub round trip with nothing else, in ns (as the run loop does it)."""
    hub = greenlet.getcurrent()
    back = hub.switch

    def body(_: object) -> None:
        while True:
            back(None)

    g = greenlet.greenlet(body)
    g.switch(None)
    go = g.switch
    start = time.perf_counter()
    for _ in range(n):
        go(None)
    elapsed = time.perf_counter() - start
    g.throw(greenlet.GreenletExit)
    return elapsed / n * 1e9


def trivial_program(k: int = 50) -> None:
    """Two actors each passing ``k`` checkpoints: the cheapest program with real choices."""

    def worker() -> None:
        for _ in range(k):
            schedfuzz.checkpoint("tick")

    schedfuzz.spawn(worker, name="a")
    schedfuzz.spawn(worker, name="b")


def _steps_ns(k: int, runs: int, settings: Settings, seed: int = 0) -> tuple[float, int]:
    """Seconds per step (in ns) over ``runs`` runs of ``trivial_program(k)``."""
    steps = 0
    start = time.perf_counter()
    for i in range(runs):
        result = Runner(trivial_program, {"k": k}, RandomOracle(seed + i), settings).run()
        steps += result.steps
    return (time.perf_counter() - start) / steps * 1e9, steps


def bench_switch(quick: bool) -> Figures:
    """Marginal cost of a step: (long runs - short runs) / extra steps, so the per-run setup and
    teardown cost is separated out (reported as ``run_setup_us``)."""
    rounds = 5 if quick else 15
    settings = Settings()
    raw, short, long_, fp = [], [], [], []
    short_k, long_k, runs = 5, 95, (150 if quick else 600)
    for r in range(rounds):  # interleave: noise hits every figure alike
        raw.append(_raw_switch_ns(20_000 if quick else 100_000))
        s_ns, s_steps = _steps_ns(short_k, runs, settings, seed=r)
        l_ns, l_steps = _steps_ns(long_k, runs, settings, seed=r)
        short.append((s_ns * s_steps, s_steps))
        long_.append((l_ns * l_steps, l_steps))
        fp.append(_steps_ns(400, 2 if quick else 6, settings, seed=r)[0])
    marginal = []
    setup = []
    for (s_tot, s_steps), (l_tot, l_steps) in zip(short, long_):
        per_step = (l_tot - s_tot) / (l_steps - s_steps)
        marginal.append(per_step)
        setup.append((s_tot - per_step * s_steps) / runs / 1e3)
    raw_ns = min(raw)
    step_ns = min(marginal)
    return {
        "raw_switch_ns": round(raw_ns, 1),
        "step_ns": round(step_ns, 1),
        "step_overhead_ratio": round(step_ns / raw_ns, 2),
        "run_setup_us": round(statistics.median(setup), 1),
        "step_fingerprint_ns": round(min(fp), 1),
        "fingerprint_overhead_ratio": round(min(fp) / step_ns, 1),
    }


# -- driver -------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[bool], Figures]] = {
    "switch": bench_switch,
}


def measure(quick: bool, only: list[str] | None = None) -> Figures:
    """Run every section (or those in ``only``) and merge their figures into one dict."""
    out: Figures = {"python": sys.version.split()[0], "quick": quick}
    started = time.perf_counter()
    for name, fn in SECTIONS.items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        out.update(fn(quick))
        out[f"section_{name}_seconds"] = round(time.perf_counter() - t, 2)
    out["total_seconds"] = round(time.perf_counter() - started, 2)
    return out


def markdown(figures: Figures) -> str:
    """The figures as a two-column markdown table for the README."""
    lines = ["| figure | value |", "|---|---|"]
    for key, value in figures.items():
        lines.append(f"| `{key}` | {value} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (< 60 s in all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--memory", action="store_true", help="also measure RSS growth")
    parser.add_argument("--only", nargs="*", choices=sorted(SECTIONS) + ["memory"],
                        help="run only these sections")
    args = parser.parse_args(argv)
    figures = measure(args.quick, args.only)
    if args.json:
        print(json.dumps(figures, sort_keys=False))
    elif args.markdown:
        print(markdown(figures))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
