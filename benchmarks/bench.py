"""schedfuzz benchmark suite: every figure a ratio or a count measured side by side in one run.

    python benchmarks/bench.py [--quick | --smoke] [--json | --markdown] [--memory]
                               [--only SECTION ...]

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
* ``stateful``: states explored, states per second and bytes of state graph per state of the
  stateful exhaustive search on the clean scenarios that declare a snapshot; and one bounded
  proof (``thp.upstream.c17`` with some actors, up to a few preemptions) run twice side by side,
  keeping every state and keeping none of the forced ones (the default): the ratios of states
  kept, graph bytes and seconds (``bounded_*``), with the same runs.
* ``threads``: the same bugs written with real ``threading`` threads under
  ``sys.setswitchinterval(1e-6)``, run for the same time budget: what a Python user has today.
* ``memory`` (only with ``--memory``): RSS growth over 100,000 runs of a small scenario, and
  actors' greenlets still alive afterwards (a leak).

Without a flag the budgets are the full ones (minutes); ``--quick --json`` finishes in well under
a minute on two cores and prints one JSON object; ``--smoke`` is the few seconds the test suite
spends checking that every figure is produced.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import greenlet

import schedfuzz
from schedfuzz._core.oracle import DefaultOracle, RandomOracle
from schedfuzz._core.runner import Runner
from schedfuzz.explore import Budget, Report, explore
from schedfuzz.settings import Settings

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

Figures = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    """The budgets of one profile: ``smoke`` (the test suite's few seconds), ``quick`` (under a
    minute on two cores) or ``full`` (the numbers for the README)."""

    name: str
    switch_rounds: int
    switch_runs: int
    raw_switches: int
    engine_seconds: float  # per engine and scenario
    ff_seeds: int  # seeds per sampling engine and bug (the median is over these)
    ff_schedules: int
    ff_seconds: float  # per search
    ff_shrink_seconds: float
    ff_prefixes: tuple[str, ...]  # which buggy scenarios
    stateful_seconds: float
    stateful_all: bool  # every clean scenario, not only the upstream designs
    thread_seconds: float
    memory_runs: int
    bounded: tuple[str, int]  # the bounded proof: c17's actors and the preemption bound


PROFILES = {
    "smoke": Scale("smoke", 2, 40, 5_000, 0.05, 1, 50, 0.2, 0.5, ("demo.",), 0.3, False, 0.1,
                   2_000, ("writer", 1)),
    "quick": Scale("quick", 5, 150, 20_000, 0.25, 2, 300, 0.5, 2.0, ("demo.", "thp."), 2.5,
                   False, 0.5, 10_000, ("writer,faulter,reader", 1)),
    "full": Scale("full", 15, 600, 100_000, 3.0, 9, 5000, 20.0, 30.0, ("demo.", "thp."), 60.0,
                  True, 5.0, 100_000, ("writer,faulter", 2)),
}


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


def trivial_program(k: int = 50, actors: int = 2) -> None:
    """Actors each passing ``k`` checkpoints: with two, the cheapest program with real choices."""

    def worker() -> None:
        for _ in range(k):
            schedfuzz.checkpoint("tick")

    for i in range(actors):
        schedfuzz.spawn(worker, name=f"w{i}")


def _steps_ns(k: int, runs: int, settings: Settings, seed: int = 0, actors: int = 2,
              oracle: Callable[[int], Any] = RandomOracle) -> tuple[float, int]:
    """Seconds per step (in ns) over ``runs`` runs of ``trivial_program(k, actors)``."""
    steps = 0
    start = time.perf_counter()
    for i in range(runs):
        result = Runner(trivial_program, {"k": k, "actors": actors}, oracle(seed + i),
                        settings).run()
        steps += result.steps
    return (time.perf_counter() - start) / steps * 1e9, steps


def _marginal_ns(runs: int, rounds: int, settings: Settings, **how: Any) -> tuple[float, float]:
    """(ns per step beyond the per-run setup, setup us per run), from the fastest of ``rounds``
    short and long batches: (long - short) / their extra steps. Taking minima first keeps
    machine noise (which only ever slows) out of the difference."""
    short, long_ = [], []
    for r in range(rounds):
        s_ns, s_steps = _steps_ns(5, runs, settings, r, **how)
        l_ns, l_steps = _steps_ns(95, runs, settings, r, **how)
        short.append(s_ns * s_steps / runs)  # ns per run
        long_.append(l_ns * l_steps / runs)
    per_run_steps = (s_steps / runs, l_steps / runs)
    step = (min(long_) - min(short)) / (per_run_steps[1] - per_run_steps[0])
    setup = (min(short) - step * per_run_steps[0]) / 1e3
    return step, setup


def bench_switch(scale: Scale) -> Figures:
    """Marginal cost of a step, with the per-run setup and teardown separated out
    (``run_setup_us``); the same for one actor (the loop without choice points) and for two
    under the default oracle (choice points without randomness), to show where time goes."""
    settings = Settings()
    eager = Settings(lasso_after=0)  # every state fingerprinted for lasso detection
    rounds, runs = scale.switch_rounds, scale.switch_runs
    raw = min(_raw_switch_ns(scale.raw_switches) for _ in range(rounds))
    step, setup = _marginal_ns(runs, rounds, settings)
    lone, _ = _marginal_ns(runs, rounds, settings, actors=1)
    default, _ = _marginal_ns(runs, rounds, settings, oracle=lambda _: DefaultOracle())
    raw = min(raw, *(_raw_switch_ns(scale.raw_switches) for _ in range(rounds)))
    fp = min(_steps_ns(20, max(2, runs // 50), eager, r)[0] for r in range(rounds))
    return {
        "raw_switch_ns": round(raw, 1),
        "step_ns": round(step, 1),
        "step_overhead_ratio": round(step / raw, 2),
        "step_one_actor_ns": round(lone, 1),
        "step_default_oracle_ns": round(default, 1),
        "run_setup_us": round(setup, 1),
        "step_fingerprint_ns": round(fp, 1),
        "fingerprint_overhead_ratio": round(fp / step, 1),
    }


# -- hypothesis: a colleague's figures, if the module exists ------------------------------------


def bench_hypothesis(scale: Scale) -> Figures:
    try:
        import bench_hypothesis
    except ImportError:
        return {"hypothesis_skipped": "benchmarks/bench_hypothesis.py not found"}
    figures: Figures = bench_hypothesis.measure(scale.name != "full")
    return figures


# -- engines: schedules per second on the thpmodel scenarios ---------------------------------------

ENGINES = ("random", "pct", "dfs", "hypothesis")


def _scenarios(prefix: str, clean: bool) -> list[str]:
    names = []
    for name, info in schedfuzz.registry().items():
        if not name.startswith(prefix):
            continue
        if clean == (info.expect == "ok"):
            names.append(name)
    return names


def _explore(name: str, engine: str, budget: Budget) -> Report:
    return explore(name, engine_name=engine, budget=budget)


def bench_engines(scale: Scale) -> Figures:
    """Throughput of each engine on each clean thp scenario (no failure stops the search early).
    Clean scenarios are the honest measure: a buggy one stops at its first failure."""
    names = _scenarios("thp.", clean=True) or _scenarios("demo.", clean=True)
    if scale.name == "smoke":
        names = names[:2]
    seconds = scale.engine_seconds
    table: dict[str, dict[str, float]] = {}
    for name in names:
        row = {}
        for engine in ENGINES:
            report = _explore(name, engine, Budget(max_schedules=10**9, seconds=seconds))
            row[engine] = round(report.schedules / report.seconds, 1) if report.seconds else 0.0
        table[name] = row
    out: Figures = {"schedules_per_s": table}
    for engine in ENGINES:
        rates = [row[engine] for row in table.values()]
        out[f"{engine}_schedules_per_s_median"] = round(statistics.median(rates), 1)
    return out


# -- first failure: schedules and seconds to find each bug, shrunk size against the minimum -----


def _first_failure_row(name: str, scale: Scale) -> dict[str, Any]:
    """Every engine on one buggy scenario (runs in a worker process)."""
    seeds = range(scale.ff_seeds)
    limit, seconds = scale.ff_schedules, scale.ff_seconds
    shrink_seconds = scale.ff_shrink_seconds
    row: dict[str, Any] = {"expect": schedfuzz.registry()[name].expect}
    exhaustive = _explore(name, "dfs", Budget(max_schedules=limit * 10, seconds=seconds))
    row["dfs"] = {
        "found": int(exhaustive.failed),
        "verdict": exhaustive.verdict,
        "schedules": exhaustive.first_failure[0] if exhaustive.first_failure else None,
        "seconds": round(exhaustive.first_failure[1], 4) if exhaustive.first_failure else None,
        "min_preemptions": exhaustive.stats.get("min_preemptions"),
        "note": exhaustive.note,
    }
    for engine in ("random", "pct", "hypothesis"):
        counts, times, shrunk, verdict = [], [], None, None
        for seed in seeds:
            shrink = shrink_seconds if seed == 0 else 0.0
            # ``seconds`` bounds the whole exploration: the search gets ``search_seconds``
            # and shrinking the rest, as in the scenario table.
            report = _explore(name, engine, Budget(max_schedules=limit, seed=seed,
                                                   seconds=seconds + shrink,
                                                   search_seconds=seconds,
                                                   shrink_seconds=shrink))
            if report.first_failure is not None:
                counts.append(report.first_failure[0])
                times.append(report.first_failure[1])
            if seed == 0 and report.outcome is not None:
                shrunk = report.outcome.result.preemptions
                verdict = report.verdict
        row[engine] = {
            "found": len(counts),
            "seeds": len(seeds),
            "median_schedules": statistics.median(counts) if counts else None,
            "median_seconds": round(statistics.median(times), 4) if times else None,
            "verdict": verdict,
            "shrunk_preemptions": shrunk,
        }
    return row


def _pool(fn: Callable[..., Any], items: list[Any], *args: Any) -> list[Any]:
    """Map over two processes (the machine has two cores); order preserved."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        return list(pool.map(fn, items, *[[a] * len(items) for a in args]))


def bench_first_failure(scale: Scale) -> Figures:
    names = [n for n, info in schedfuzz.registry().items()
             if info.expect not in (None, "ok") and n.startswith(scale.ff_prefixes)]
    rows = dict(zip(names, _pool(_first_failure_row, names, scale)))
    out: Figures = {"first_failure": rows, "buggy_scenarios": len(rows)}
    for engine in ("dfs", "random", "pct", "hypothesis"):
        found = sum(1 for r in rows.values() if r[engine]["found"])
        out[f"bugs_found_{engine}"] = found
    for engine in ("random", "pct", "hypothesis"):
        pairs = [(r[engine]["shrunk_preemptions"], r["dfs"]["min_preemptions"])
                 for r in rows.values()
                 if r[engine]["shrunk_preemptions"] is not None
                 and r["dfs"]["min_preemptions"] is not None]
        out[f"shrunk_at_minimum_{engine}"] = sum(1 for s, m in pairs if s == m)
        out[f"shrunk_compared_{engine}"] = len(pairs)
    return out


# -- stateful: the exhaustive search with state caching on the clean scenarios ------------------


def _stateful_row(name: str, scale: Scale) -> dict[str, Any]:
    seconds = scale.stateful_seconds
    report = _explore(name, "dfs", Budget(max_schedules=10**9, seconds=seconds))
    states = report.stats.get("states", 0)
    return {
        "states": states,
        "runs": report.schedules,
        "states_per_s": round(states / report.seconds, 1) if report.seconds else 0.0,
        "graph_bytes_per_state": round(report.stats.get("graph_bytes", 0) / states, 1)
        if states else None,
        "complete": report.complete,
        "verified_preemptions": report.stats.get("verified_preemptions"),
        "note": report.note,
    }


def _bounded_run(keep_every: int, scale: Scale) -> tuple[float, int, int, int, str]:
    """One bounded proof (in a pool process): seconds, states, graph bytes, runs, note.
    ``keep_every=0`` keeps every state; the default ``KEEP_EVERY`` keeps no forced state but
    one in so many. Set either way: a pool process may run both proofs, one after the other."""
    from schedfuzz.search import dfs
    from schedfuzz.search import oracle as dfs_oracle
    from schedfuzz.scenario import resolve

    dfs_oracle.KEEP_EVERY = keep_every
    actors, bound = scale.bounded
    started = time.perf_counter()
    report = dfs.DfsSearch(resolve("thp.upstream.c17"), {"actors": actors}, Settings(),
                           Budget(max_schedules=10**9), stateful=True,
                           max_preemptions=bound).explore()
    return (time.perf_counter() - started, report.stats["states"], report.stats["graph_bytes"],
            report.schedules, report.note)


def _bounded(scale: Scale) -> Figures:
    """A bounded proof keeping every state and one keeping none of the forced ones, at the
    same time in two processes: the ratios."""
    if "thp.upstream.c17" not in schedfuzz.registry():
        return {}
    from schedfuzz.search.oracle import KEEP_EVERY

    every, some = _pool(_bounded_run, [0, KEEP_EVERY], scale)
    actors, bound = scale.bounded
    return {
        "bounded_proof": f"thp.upstream.c17 -p actors={actors}, at most {bound}: {some[4]}",
        "bounded_states_kept_ratio": round(some[1] / every[1], 3),
        "bounded_graph_bytes_ratio": round(some[2] / every[2], 3),
        "bounded_seconds_ratio": round(some[0] / every[0], 3),
        "bounded_same_runs": int(some[3] == every[3]),
    }


def bench_stateful(scale: Scale) -> Figures:
    names = _scenarios("thp.", clean=True) or _scenarios("demo.", clean=True)
    if not scale.stateful_all:  # the upstream designs are what a short run must show
        names = [n for n in names if n.startswith("thp.upstream.")] or names[:2]
    rows = dict(zip(names, _pool(_stateful_row, names, scale)))
    rates = [r["states_per_s"] for r in rows.values()]
    return {
        **_bounded(scale),
        "stateful": rows,
        "stateful_states_per_s_median": round(statistics.median(rates), 1) if rates else 0.0,
        "stateful_graph_bytes_per_state_max": max(
            (r["graph_bytes_per_state"] or 0 for r in rows.values()), default=0),
        "stateful_complete": sum(1 for r in rows.values() if r["complete"]),
        "stateful_scenarios": len(rows),
    }


# -- threads: the same bugs under real threads, for the same time --------------------------------


def bench_threads(scale: Scale) -> Figures:
    """Each demo bug with real threads for ``seconds``, next to the random engine's search of
    the same bug under the same time limit."""
    import threaded_bugs

    seconds = scale.thread_seconds
    rows: dict[str, Any] = {}
    for name, trial in threaded_bugs.TRIALS.items():
        threads = threaded_bugs.hunt(trial, seconds)
        report = _explore(name, "random", Budget(max_schedules=10**9, seconds=seconds,
                                                 shrink_seconds=0.0))
        rows[name] = {
            "threads": threads,
            "schedfuzz_random": {
                "found": int(report.failed),
                "first_failure_schedules": report.first_failure[0] if report.first_failure
                else None,
                "first_failure_seconds": round(report.first_failure[1], 4)
                if report.first_failure else None,
            },
        }
    return {
        "threads": rows,
        "threads_bugs_found": sum(1 for r in rows.values() if r["threads"]["failures"]),
        "threads_bug_rate": round(sum(r["threads"]["failures"] for r in rows.values())
                                  / max(1, sum(r["threads"]["trials"] for r in rows.values())),
                                  5),
        "threads_compared_bugs": len(rows),
    }


# -- unmodified: threading code as it is, and points inside the user's own lines ----------------


# Runs of these programs pass ``lasso_after``; fingerprints would swamp the step itself.
_NO_LASSO = Settings(detect_livelock=False)


def _threaded_ns(k: int, runs: int, rounds: int, **how: Any) -> float:
    """Marginal ns per step of ``preempt_target.two_threads`` run as actors (per-run setup,
    patching included, subtracted as in ``_marginal_ns``)."""
    import preempt_target

    from schedfuzz.threads import as_scenario

    preempt_in = ("preempt_target",) if not how.get("locks_only") else ()
    info = as_scenario(preempt_target.two_threads, preempt_in=preempt_in)
    per_run = []
    for kk in (5, k):
        best = float("inf")
        for r in range(rounds):
            steps = 0
            start = time.perf_counter()
            for i in range(runs):
                steps += Runner(info.fn, {"k": kk, **how}, RandomOracle(r * runs + i),
                                _NO_LASSO).run().steps
            best = min(best, (time.perf_counter() - start) / runs * 1e9)
        per_run.append((best, steps / runs))
    (short_ns, short_steps), (long_ns, long_steps) = per_run
    return (long_ns - short_ns) / (long_steps - short_steps)


def bench_unmodified(scale: Scale) -> Figures:
    """A step of unmodified threading code: a ``Lock`` operation (the standard library's own
    code around the actor lock) and a line-level point (``--preempt-in``), each against a
    plain ``checkpoint`` step measured in the same run. Target: a point within 3x a step."""
    rounds, runs = scale.switch_rounds, max(4, scale.switch_runs // 20)
    step, _ = _marginal_ns(runs * 5, rounds, _NO_LASSO)
    point = _threaded_ns(95, runs, rounds)
    lock = _threaded_ns(95, runs, rounds, locks_only=True)
    return {
        "thread_point_ns": round(point, 1),
        "thread_point_ratio": round(point / step, 2),
        "thread_lock_step_ns": round(lock, 1),
        "thread_lock_step_ratio": round(lock / step, 2),
    }


# -- memory: RSS growth over many runs ------------------------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * (os.sysconf("SC_PAGE_SIZE") // 1024)


def bench_memory(scale: Scale) -> Figures:
    """RSS growth over many runs of a small scenario, and greenlets left alive afterwards."""
    runs = scale.memory_runs
    settings = Settings()
    for i in range(1000):  # warm up caches and allocator pools first
        Runner(trivial_program, {"k": 3}, RandomOracle(i), settings).run()
    gc.collect()
    before = _rss_kib()
    for i in range(runs):
        Runner(trivial_program, {"k": 3}, RandomOracle(i), settings).run()
    gc.collect()
    after = _rss_kib()
    # A leaked actor is a greenlet still alive after its run: teardown must have ended them all
    # (dead greenlets of the last run may linger until the next one replaces them).
    main = greenlet.getcurrent()
    alive = sum(1 for o in gc.get_objects()
                if isinstance(o, greenlet.greenlet) and o is not main and not o.dead)
    return {
        "memory_runs": runs,
        "memory_rss_growth_kib": after - before,
        "memory_rss_growth_bytes_per_run": round((after - before) * 1024 / runs, 2),
        "memory_leaked_greenlets": alive,
    }


# -- driver -------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Scale], Figures]] = {
    "switch": bench_switch,
    "hypothesis": bench_hypothesis,
    "engines": bench_engines,
    "first_failure": bench_first_failure,
    "stateful": bench_stateful,
    "threads": bench_threads,
    "unmodified": bench_unmodified,
}


def measure(profile: str = "quick", only: list[str] | None = None,
            memory: bool = False) -> Figures:
    """Run every section (or those in ``only``) and merge their figures into one dict."""
    scale = PROFILES[profile]
    out: Figures = {"python": sys.version.split()[0], "profile": profile}
    started = time.perf_counter()
    sections = dict(SECTIONS)
    if memory or (only and "memory" in only):
        sections["memory"] = bench_memory
    for name, fn in sections.items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        out.update(fn(scale))
        out[f"section_{name}_seconds"] = round(time.perf_counter() - t, 2)
    out["total_seconds"] = round(time.perf_counter() - started, 2)
    return out


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def markdown(figures: Figures) -> str:
    """The figures as markdown tables for the README: headline figures, then one table per
    section that has rows."""
    out = ["| figure | value |", "|---|---|"]
    for key, value in figures.items():
        if not isinstance(value, dict):
            out.append(f"| `{key}` | {value} |")
    sps = figures.get("schedules_per_s")
    if sps:
        out += ["", "Schedules per second (clean scenarios, no early stop):", "",
                "| scenario | " + " | ".join(ENGINES) + " |",
                "|---|" + "---:|" * len(ENGINES)]
        for name, row in sps.items():
            out.append(f"| {name} | " + " | ".join(_cell(row.get(e)) for e in ENGINES) + " |")
    ff = figures.get("first_failure")
    if ff:
        samplers = ("random", "pct", "hypothesis")
        out += ["", "First failure (median schedules / seconds over seeds; found/seeds; "
                "preemptions of the shrunk reproducer vs the exhaustive minimum):", "",
                "| scenario | expect | dfs: min preemptions, schedules | "
                + " | ".join(samplers) + " |", "|---|---|---|" + "---|" * len(samplers)]
        for name, row in ff.items():
            d = row["dfs"]
            dfs_cell = (f"{d['min_preemptions']} ({d['schedules']} runs)" if d["found"]
                        else "not found")
            cells = []
            for e in samplers:
                r = row[e]
                if not r["found"]:
                    cells.append(f"0/{r['seeds']}")
                    continue
                cells.append(f"{r['found']}/{r['seeds']}: {_cell(r['median_schedules'])} / "
                             f"{_cell(r['median_seconds'])}s, {_cell(r['verdict'])} "
                             f"p={_cell(r['shrunk_preemptions'])}")
            out.append(f"| {name} | {row['expect']} | {dfs_cell} | " + " | ".join(cells) + " |")
    st = figures.get("stateful")
    if st:
        out += ["", "Stateful exhaustive search:", "",
                "| scenario | states | runs | states/s | complete | verified <= K |",
                "|---|---:|---:|---:|---|---:|"]
        for name, r in st.items():
            out.append(f"| {name} | {r['states']} | {r['runs']} | {r['states_per_s']} | "
                       f"{r['complete']} | {_cell(r['verified_preemptions'])} |")
    th = figures.get("threads")
    if th:
        out += ["", "Real threads (switch interval 1 us) against the random engine, same time:",
                "", "| bug | thread trials | thread failures | schedfuzz first failure |",
                "|---|---:|---:|---|"]
        for name, r in th.items():
            t, sf = r["threads"], r["schedfuzz_random"]
            found = (f"schedule {sf['first_failure_schedules']}, "
                     f"{sf['first_failure_seconds']}s" if sf["found"] else "not found")
            out.append(f"| {name} | {t['trials']} | {t['failures']} | {found} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (< 60 s in all)")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets (a few seconds)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--memory", action="store_true", help="also measure RSS growth")
    parser.add_argument("--only", nargs="*", choices=[*sorted(SECTIONS), "memory"],
                        help="run only these sections")
    args = parser.parse_args(argv)
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    figures = measure(profile, args.only, args.memory)
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
