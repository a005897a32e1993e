"""The scenario table: every thpmodel scenario explored, its verdict set against the expected one.

``python -m thpmodel`` runs each registered ``thp.*`` scenario through
``schedfuzz.explore.explore`` with one engine and a time budget, and prints one row per scenario:
the expected and the found verdict, how many schedules and seconds it took to find it (or how
many were explored without a failure), and the steps and preemptions of the minimal reproducer;
a ``*`` marks a preemption count proved to be the fewest any schedule needs (the exhaustive
search below it finished within ``--shrink-seconds``). A scenario where no failure was found
gets the same time for a proof: the exhaustive ``dfs`` search, fewest preemptions first, and
its row says how far it got (``<=K``: no failure with at most K preemptions; ``all``: the
complete state space).
A found verdict that differs from a stated expectation is a mismatch, and the exit status is 1.
Scenarios registered with ``expect=None`` are open questions: their row reports what was found.

The code knows no engine: any name ``schedfuzz.explore`` accepts works.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Sequence
from typing import Any

import attrs

import schedfuzz
from schedfuzz.budget import Budget
from schedfuzz.explore import explore
from schedfuzz.verdict import Report

__all__ = ["Row", "format_rows", "main", "proved_by", "run_table", "table_scenarios"]


@attrs.frozen
class Row:
    """One scenario's line of the table.

    Attributes:
        schedules / seconds: to the first failure if one was found, else the whole search.
        match: whether the verdict is the expected one (None for an open question).
        fewest: the reproducer's preemptions are proved the fewest any failing schedule needs.
        proved: with no failure found, what the exhaustive search proved: ``<=K`` (no failure
            with at most K preemptions) or ``all`` (the complete state space); None if nothing.
    """

    name: str
    expected: str | None
    found: str
    schedules: int
    seconds: float
    steps: int | None
    preemptions: int | None
    match: bool | None
    note: str
    report: dict[str, Any]
    fewest: bool = False
    proved: str | None = None


def table_scenarios(pattern: str | None = None) -> list[schedfuzz.ScenarioInfo]:
    """The registered ``thp.*`` scenarios whose name matches ``pattern`` (a glob, or a plain
    substring), in registration order."""
    infos = [info for name, info in schedfuzz.registry().items() if name.startswith("thp.")]
    if pattern:
        glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
        infos = [info for info in infos if fnmatch.fnmatchcase(info.name, glob)]
    return infos


def proved_by(proof: Report) -> str | None:
    """What a ``dfs`` search with no failure proved: ``all`` (the complete state space),
    ``<=K`` (no failure with at most K preemptions) or None (not even 0)."""
    if proof.proof == "complete":
        return "all"
    return f"<={proof.proof_bound}" if proof.proof == "bounded" else None


def run_one(info: schedfuzz.ScenarioInfo, engine: str, budget: Budget) -> Row:
    """Explore one scenario and make its row; if nothing fails, try to prove it clean."""
    report = explore(info, engine_name=engine, budget=budget)
    proof = None
    if report.verdict == "ok" and budget.shrink_seconds > 0:
        proof = explore(info, engine_name="dfs",
                        budget=Budget(max_schedules=10**9, seconds=budget.shrink_seconds))
        if proof.verdict != "ok":  # the exhaustive search found what the first one missed
            report, proof = proof, None
    found = report.verdict
    if report.first_failure is not None:
        schedules, seconds = report.first_failure
    else:
        schedules, seconds = report.schedules, report.seconds
    result = report.outcome.result if report.outcome is not None else None
    match = None if info.expect is None else found == info.expect
    fewest = result is not None and (
        result.preemptions == 0 or "fewest preemptions:" in report.note
        or report.stats.get("min_preemptions") == result.preemptions)
    out = report.to_json()
    if proof is not None:
        out["proof"] = proof.note
    return Row(info.name, info.expect, found, schedules, seconds,
               result.steps if result is not None else None,
               result.preemptions if result is not None else None,
               match, report.note, out, fewest, None if proof is None else proved_by(proof))


def run_table(engine: str, seconds: float, pattern: str | None = None, *, seed: int = 0,
              workers: int = 1, shrink_seconds: float = 20.0, echo: bool = False) -> list[Row]:
    """Explore every matching scenario with ``seconds`` of search each."""
    # ``seconds`` of search, then at most ``shrink_seconds`` to reduce what it found.
    budget = Budget(max_schedules=10**9, seconds=seconds + shrink_seconds, seed=seed,
                    shrink_seconds=shrink_seconds, workers=workers, search_seconds=seconds)
    rows = []
    for info in table_scenarios(pattern):
        row = run_one(info, engine, budget)
        rows.append(row)
        if echo:
            print(format_rows([row], header=not rows[:-1]), flush=True)
    return rows


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def _preempt(row: Row) -> str:
    if row.proved is not None:
        return row.proved + " "
    return _cell(row.preemptions) + ("*" if row.fewest else " ")


def format_rows(rows: Sequence[Row], *, header: bool = True) -> str:
    """The rows as aligned text; the last column says MISMATCH, ok or open."""
    lines = []
    if header:
        lines.append(f"{'scenario':40s} {'expected':14s} {'found':14s} {'schedules':>9s} "
                     f"{'seconds':>8s} {'steps':>6s} {'preempt':>7s}  check")
    for row in rows:
        check = "open" if row.match is None else ("ok" if row.match else "MISMATCH")
        lines.append(f"{row.name:40s} {_cell(row.expected):14s} {row.found:14s} "
                     f"{row.schedules:9d} {row.seconds:8.2f} {_cell(row.steps):>6s} "
                     f"{_preempt(row):>7s}  {check}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m thpmodel``: run the table; exit 1 on a mismatch, 2 on bad arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m thpmodel",
        description="Explore every thpmodel scenario and compare its verdict with the "
                    "expected one.")
    parser.add_argument("--engine", default="hypothesis",
                        help="exploration engine (hypothesis, random, pct, dfs)")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="search time per scenario (default 8)")
    parser.add_argument("--only", metavar="PATTERN",
                        help="only scenarios whose name matches (glob or substring)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search")
    parser.add_argument("--workers", type=int, default=1, help="processes per search")
    parser.add_argument("--shrink-seconds", type=float, default=20.0,
                        help="time to reduce each failure, most of it for the exhaustive search "
                             "that proves the fewest preemptions, or to prove a scenario with no "
                             "failure clean (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        print(f"python -m thpmodel: --seconds must be positive, got {args.seconds}",
              file=sys.stderr)
        return 2
    if args.shrink_seconds < 0:
        print(f"python -m thpmodel: --shrink-seconds must not be negative, got "
              f"{args.shrink_seconds}", file=sys.stderr)
        return 2
    if not table_scenarios(args.only):
        print(f"python -m thpmodel: no scenario matches {args.only!r}", file=sys.stderr)
        return 2
    try:
        rows = run_table(args.engine, args.seconds, args.only, seed=args.seed,
                         workers=args.workers, shrink_seconds=args.shrink_seconds,
                         echo=not args.json)
    except schedfuzz.SchedfuzzError as exc:
        print(f"python -m thpmodel: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("python -m thpmodel: interrupted", file=sys.stderr)
        return 130
    if args.json:
        out = [dict(row.report, match=row.match) for row in rows]
        print(json.dumps(out, indent=2))
    if not args.json and any(row.preemptions for row in rows):
        print("\n* the fewest preemptions any schedule needs, proved by the exhaustive search; "
              "unmarked counts\n  are upper bounds (raise --shrink-seconds to prove them)")
    if not args.json and any(row.proved for row in rows):
        print("\n<=K: proved by the exhaustive search to have no failure with at most K "
              "preemptions;\nall: its complete state space has none (--shrink-seconds each)")
    mismatches = [row.name for row in rows if row.match is False]
    if mismatches and not args.json:
        print(f"\n{len(mismatches)} mismatch(es): {', '.join(mismatches)}")
    return 1 if mismatches else 0
