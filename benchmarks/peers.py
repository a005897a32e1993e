"""schedfuzz side by side with the other Python schedule explorers, on the same programs.

Run by hand (it is not a test, and nothing in CI runs it)::

    python benchmarks/peers.py --quick            # about a minute
    python benchmarks/peers.py                    # the full budget, several minutes
    python benchmarks/peers.py --json out.json    # also write the results as JSON

The peers are not dependencies of schedfuzz; they live in virtual environments of their own::

    python3.11 -m venv /tmp/peers && /tmp/peers/bin/pip install frontrun
    python3.12 -m venv /tmp/peers312 && /tmp/peers312/bin/pip install interleave-test

(interleave-test needs Python 3.12 or later; other places: ``--frontrun-python``,
``--interleave-python``). A tool that is not installed is reported as such and skipped.

Every tool explores every program of ``benchmarks/peer_programs.py``, buggy and fixed, with the
same budget: at most ``--schedules`` schedules and ``--seconds`` of wall clock per version, a
fixed seed. Each (tool, program) pair runs in a process of its own, with the tool's own Python
(frontrun's explorers run only under its ``frontrun`` launcher, so they are started with it).

Measured per tool and program: whether the bug was found; the schedules and seconds to the first
failure (and, for schedfuzz, the seconds with its shrinking, which the peers do not do);
schedules per second, from the fixed version (it runs its whole budget, or until a systematic
search is exhausted); the reproducer each tool hands back; and false alarms on the fixed
version. Reproducer "steps" are each tool's own unit, so compare them within a tool: schedfuzz
counts scheduling steps (synchronisation operations and, with ``preempt_in``, lines),
interleave-test counts scheduling decisions (every bytecode of the traced code), frontrun counts
the entries of its counterexample (DPOR: the scheduling points at shared accesses; random: the
opcode slices it drew). "preemptions" compares across tools: schedfuzz and interleave-test say
it exactly; frontrun's schedule cannot tell a preemption from a thread that blocked, so its
figure is an upper bound ("<=").

All tools get the same scope for fine-grained switching, the module of the programs
(schedfuzz's ``preempt_in``, interleave-test's ``include``; frontrun traces user code);
``schedfuzz-dfs_sync`` shows schedfuzz without it, switching at synchronisation operations only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROGRAMS_FILE = HERE / "peer_programs.py"

#: tool -> (python to run it with, a short note)
TOOLS: dict[str, tuple[str, str]] = {
    "schedfuzz-pct": ("schedfuzz", "pct engine, --preempt-in on the programs' module"),
    "schedfuzz-dfs": ("schedfuzz", "dfs engine, at most 2 preemptions, --preempt-in"),
    "schedfuzz-random": ("schedfuzz", "random engine, --preempt-in"),
    "schedfuzz-hypothesis": ("schedfuzz", "hypothesis engine (the default), --preempt-in"),
    "schedfuzz-dfs_sync": ("schedfuzz", "dfs engine, at most 2 preemptions, no --preempt-in: "
                           "switches at synchronisation operations only"),
    "frontrun-dpor": ("frontrun", "DPOR (default), preemption_bound=2, virtual clock"),
    "frontrun-random": ("frontrun", "random bytecode schedules, virtual clock"),
    "interleave-pct": ("interleave", "PCT, opcode granularity"),
    "interleave-dfs": ("interleave", "bounded DFS, max_preemptions=2, opcode granularity"),
    "interleave-random": ("interleave", "uniform random, opcode granularity"),
}


# --------------------------------------------------------------------------------------------
# Inside the worker process: run one tool on one program version.


def _switches(choices: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(choices) if a != b)


def _preemptions_upper(choices: list[int]) -> int:
    """Switches away from a thread that runs again later: preemptions, or blocking waits
    (the schedule alone cannot tell the two apart, so this bounds preemptions from above)."""
    last = {tid: i for i, tid in enumerate(choices)}
    return sum(1 for i, (a, b) in enumerate(itertools.pairwise(choices))
               if a != b and last[a] > i)


def _run_schedfuzz(engine: str, name: str, fixed: bool, args: argparse.Namespace) -> dict:
    from peer_programs import entry

    from schedfuzz.explore import Budget, explore
    from schedfuzz.threads import as_scenario

    engine, _, scope = engine.partition("_")
    info = as_scenario(entry(name, fixed), preempt_in=() if scope == "sync" else ("peer_programs",))
    budget = Budget(max_schedules=args.schedules, seconds=args.seconds, seed=args.seed,
                    max_preemptions=2 if engine == "dfs" else None)
    started = time.perf_counter()
    report = explore(info, engine_name=engine, budget=budget)
    elapsed = time.perf_counter() - started
    row: dict[str, Any] = {"failed": report.failed, "schedules": report.schedules,
                           "seconds": elapsed,
                           "exhausted": report.proof in ("complete", "bounded")}
    if report.failed:
        result = report.outcome.result
        first = report.first_failure or (report.schedules, elapsed)
        row.update(first_schedules=first[0], first_seconds=first[1],
                   verdict=report.verdict, steps=result.steps,
                   preemptions=result.preemptions)
    return row


def _run_frontrun(strategy: str, name: str, fixed: bool, args: argparse.Namespace) -> dict:
    import frontrun
    from peer_programs import program

    prog = program(name, fixed)

    def invariant(state: Any) -> bool:
        try:
            prog.check(state)
        except AssertionError:
            return False
        return True

    options: dict[str, Any] = {"clock": "virtual", "total_timeout": args.seconds,
                               "reproduce_on_failure": 0, "deadlock_timeout": 2.0,
                               "timeout_per_run": 2.0}
    if strategy == "dpor":
        options.update(max_executions=args.schedules, preemption_bound=2)
    else:
        options.update(max_attempts=args.schedules, seed=args.seed)
    started = time.perf_counter()
    result = frontrun.explore(setup=prog.setup, workers=list(prog.workers),
                              invariant=invariant, strategy=strategy, **options)
    elapsed = time.perf_counter() - started
    row: dict[str, Any] = {"failed": result.property_holds is False,
                           "schedules": result.num_explored, "seconds": elapsed,
                           # DPOR stops early only when its (bounded) search is done
                           "exhausted": bool(result.exhausted) or (
                               strategy == "dpor" and result.property_holds is not None
                               and result.num_explored < args.schedules
                               and elapsed < args.seconds)}
    if result.property_holds is None:
        row["inconclusive"] = (result.inconclusive_reason or "")[:200]
    if result.property_holds is False:
        ce = result.counterexample
        choices = list(ce) if isinstance(ce, list) else None
        row.update(first_schedules=result.num_explored, first_seconds=elapsed,
                   verdict=(result.explanation or "").strip().splitlines()[0][:80]
                   if result.explanation else "invariant",
                   steps=len(choices) if choices is not None else None,
                   switches=_switches(choices) if choices else None,
                   preemptions=f"<={_preemptions_upper(choices)}" if choices else None)
    return row


def _run_interleave(strategy: str, name: str, fixed: bool, args: argparse.Namespace) -> dict:
    import interleave_test as it
    from peer_programs import entry

    factory = {"random": it.RandomStrategy, "pct": it.PCTStrategy,
               "dfs": lambda: it.DFSStrategy(max_preemptions=2)}[strategy]
    strat = factory()
    deadline = time.perf_counter() + args.seconds
    more = strat.more
    strat.more = lambda: False if time.perf_counter() > deadline else more()  # wall-clock cap
    started = time.perf_counter()
    result = it.explore(entry(name, fixed), iterations=args.schedules, seed=args.seed,
                        strategy=strat, timeout=2.0, include=[str(PROGRAMS_FILE)],
                        raise_on_failure=False)
    elapsed = time.perf_counter() - started
    row: dict[str, Any] = {"failed": result.failure is not None,
                           "schedules": result.schedules_run, "seconds": elapsed,
                           "exhausted": bool(result.exhausted)}
    failure = result.failure
    if failure is not None:
        choices = list(failure.schedule.choices)
        steps = list(failure.steps)
        preemptions = None
        if len(steps) == len(choices):  # the step log is whole: tell preemptions apart
            preemptions = sum(1 for prev, step in itertools.pairwise(steps)
                              if step.chosen != prev.chosen and prev.chosen in step.runnable)
        row.update(first_schedules=failure.iteration + 1, first_seconds=elapsed,
                   verdict=failure.kind + (f": {type(failure.exception).__name__}"
                                           if failure.exception is not None else ""),
                   steps=len(choices), switches=_switches(choices), preemptions=preemptions)
    return row


RUNNERS = {"schedfuzz": _run_schedfuzz, "frontrun": _run_frontrun,
           "interleave": _run_interleave}


def worker(args: argparse.Namespace) -> None:
    """Run one tool on the buggy and the fixed version of one program; print JSON."""
    sys.path.insert(0, str(HERE))
    kind, _, variant = args.tool.partition("-")
    out: dict[str, Any] = {"python": sys.version.split()[0]}
    for fixed in (False, True):
        try:
            out["fixed" if fixed else "bug"] = RUNNERS[kind](variant, args.program, fixed, args)
        except BaseException as exc:  # a tool crashing is a result too
            if any(frame.filename == str(PROGRAMS_FILE)
                   for frame in traceback.extract_tb(exc.__traceback__)):
                # the program's own exception escaped the tool: the bug shows, with no schedule
                out["fixed" if fixed else "bug"] = {
                    "failed": True, "schedules": None, "seconds": None,
                    "verdict": f"raised {type(exc).__name__} out of explore, no reproducer"}
                continue
            out["fixed" if fixed else "bug"] = {
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "traceback": traceback.format_exc()[-1500:]}
    sys.stdout.flush()
    print("@@RESULT@@" + json.dumps(out, default=str))
    sys.stdout.flush()
    os._exit(0)  # leaked uncontrolled threads of a peer must not keep the process alive


# --------------------------------------------------------------------------------------------
# The driver: one process per (tool, program), then the table.


def _python_for(kind: str, args: argparse.Namespace) -> str | None:
    if kind == "schedfuzz":
        return args.schedfuzz_python
    path = args.frontrun_python if kind == "frontrun" else args.interleave_python
    module = "frontrun" if kind == "frontrun" else "interleave_test"
    if not Path(path).exists():
        return None
    probe = subprocess.run([path, "-c", f"import {module}"], capture_output=True)
    return path if probe.returncode == 0 else None


def _run_pair(python: str, tool: str, name: str, args: argparse.Namespace) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", "--tool", tool, "--program", name,
           "--schedules", str(args.schedules), "--seconds", str(args.seconds),
           "--seed", str(args.seed)]
    if tool.startswith("frontrun"):  # frontrun's explorers run only under its launcher
        cmd.insert(0, str(Path(python).with_name("frontrun")))
    limit = 2 * args.seconds + 60
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=HERE)
    except subprocess.TimeoutExpired:
        return {"bug": {"error": f"killed after {limit:.0f} s"},
                "fixed": {"error": f"killed after {limit:.0f} s"}}
    for line in proc.stdout.splitlines():
        if line.startswith("@@RESULT@@"):
            return json.loads(line[len("@@RESULT@@"):])  # type: ignore[no-any-return]
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"bug": {"error": f"exit {proc.returncode}: {err}"[:300]},
            "fixed": {"error": f"exit {proc.returncode}: {err}"[:300]}}


def _cell(row: dict) -> dict:
    """One (tool, program) result in the table's terms."""
    bug, fixed = row.get("bug", {}), row.get("fixed", {})
    rate_from = fixed if "error" not in fixed and fixed.get("seconds") else bug
    rate = (rate_from["schedules"] / rate_from["seconds"]
            if rate_from.get("seconds") and rate_from.get("schedules") else None)
    return {
        "found": "error" if "error" in bug else ("yes" if bug.get("failed") else "no"),
        "first_schedules": bug.get("first_schedules"),
        "first_seconds": bug.get("first_seconds"),
        "total_seconds": bug.get("seconds") if bug.get("failed") else None,
        "schedules_per_second": rate,
        "steps": bug.get("steps"),
        "preemptions": bug.get("preemptions"),
        "switches": bug.get("switches"),
        "verdict": bug.get("verdict") or bug.get("error") or bug.get("inconclusive"),
        "false_alarm": ("error" if "error" in fixed else
                        ("YES" if fixed.get("failed") else
                         "no (exhausted)" if fixed.get("exhausted") else "no")),
        "fixed_note": fixed.get("error") or fixed.get("verdict") or fixed.get("inconclusive"),
        "python": row.get("python"),
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if value < 100 else f"{value:.0f}"
    return str(value)


def table(results: dict[str, dict[str, dict]]) -> str:
    lines = ["| program | tool | found | to 1st: schedules | to 1st: s | with shrinking: s "
             "| schedules/s | reproducer: steps | preemptions | switches | false alarm | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, by_tool in results.items():
        for tool, cell in by_tool.items():
            if "not_installed" in cell:
                lines.append(f"| {name} | {tool} | not installed | | | | | | | | | |")
                continue
            verdict = str(cell["verdict"] or "").replace("|", "/")[:60]
            lines.append(
                f"| {name} | {tool} | {cell['found']} | {_fmt(cell['first_schedules'])} "
                f"| {_fmt(cell['first_seconds'])} | {_fmt(cell['total_seconds'])} "
                f"| {_fmt(cell['schedules_per_second'], 0)} "
                f"| {_fmt(cell['steps'])} | {_fmt(cell['preemptions'])} "
                f"| {_fmt(cell['switches'])} | {cell['false_alarm']} | {verdict} |")
    return "\n".join(lines)


def summary(results: dict[str, dict[str, dict]]) -> str:
    tools: dict[str, list[dict]] = {}
    for by_tool in results.values():
        for tool, cell in by_tool.items():
            tools.setdefault(tool, []).append(cell)
    lines = ["| tool | python | bugs found | false alarms | median s to 1st | median schedules/s "
             "| median reproducer preemptions |",
             "|---|---|---|---|---|---|---|"]
    for tool, cells in tools.items():
        if any("not_installed" in c for c in cells):
            lines.append(f"| {tool} | | not installed | | | | |")
            continue
        found = sum(c["found"] == "yes" for c in cells)
        alarms = sum(c["false_alarm"] == "YES" for c in cells)
        firsts = sorted(c["first_seconds"] for c in cells if c["first_seconds"] is not None)
        rates = sorted(c["schedules_per_second"] for c in cells
                       if c["schedules_per_second"] is not None)
        bounded = any(isinstance(c["preemptions"], str) for c in cells)
        preemptions = sorted(int(str(c["preemptions"]).lstrip("<=")) for c in cells
                             if c["found"] == "yes" and c["preemptions"] is not None)
        median = _median([float(p) for p in preemptions])
        shown = "-" if median is None else ("<=" if bounded else "") + f"{median:.0f}"
        lines.append(f"| {tool} | {cells[0].get('python') or ''} | {found}/{len(cells)} "
                     f"| {alarms} | {_fmt(_median(firsts))} | {_fmt(_median(rates), 0)} "
                     f"| {shown} |")
    return "\n".join(lines)


def _median(xs: list[float]) -> float | None:
    return xs[len(xs) // 2] if xs else None


def drive(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE))
    from peer_programs import PROGRAMS

    tools = args.tools.split(",") if args.tools else list(TOOLS)
    names = args.programs.split(",") if args.programs else list(PROGRAMS)
    pythons = {kind: _python_for(kind, args) for kind in ("schedfuzz", "frontrun", "interleave")}
    results: dict[str, dict[str, dict]] = {}
    started = time.perf_counter()
    for name in names:
        results[name] = {}
        for tool in tools:
            kind = TOOLS[tool][0]
            python = pythons[kind]
            if python is None:
                results[name][tool] = {"not_installed": True}
                continue
            t0 = time.perf_counter()
            cell = _cell(_run_pair(python, tool, name, args))
            results[name][tool] = cell
            print(f"  {name:15} {tool:18} found={cell['found']:5} "
                  f"false_alarm={cell['false_alarm']:5} ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)
    doc = {"budget": {"schedules": args.schedules, "seconds": args.seconds, "seed": args.seed},
           "tools": {t: TOOLS[t][1] for t in tools},
           "pythons": dict(pythons),
           "wall_seconds": round(time.perf_counter() - started, 1),
           "results": results}
    print(json.dumps(doc, default=str))
    print()
    print(table(results))
    print()
    print(summary(results))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a small budget (about a minute)")
    parser.add_argument("--schedules", type=int, default=None,
                        help="schedules per version (default 1000, --quick 150)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="wall-clock cap per version (default 30, --quick 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tools", help=f"comma-separated, from {', '.join(TOOLS)}")
    parser.add_argument("--programs", help="comma-separated program names")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--schedfuzz-python", default=sys.executable)
    parser.add_argument("--frontrun-python", default="/tmp/peers/bin/python")
    parser.add_argument("--interleave-python", default="/tmp/peers312/bin/python")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tool", help=argparse.SUPPRESS)
    parser.add_argument("--program", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.schedules is None:
        args.schedules = 150 if args.quick else 1000
    if args.seconds is None:
        args.seconds = 4.0 if args.quick else 30.0
    if args.worker:
        worker(args)
    else:
        drive(args)


if __name__ == "__main__":
    main()
