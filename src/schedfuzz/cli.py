"""The ``schedfuzz`` command line: explore, replay, replay-one, list.

Exit codes are part of the contract, so scripts and CI can branch on them:

* ``0``: nothing wrong (no failure found; every corpus file gave its expected verdict);
* ``1``: a failure was found (explore, replay-one) or a corpus file no longer gives its verdict;
* ``2``: bad input: an unknown scenario or engine, a bad parameter or option, an unreadable corpus
  file. One line on stderr, never a traceback (``--traceback`` shows one for unexpected errors).
  ``replay`` still runs the readable files; when some differ and some are unreadable, 2 wins.

Parameters are ``-p NAME=VALUE``; VALUE is read as a Python literal (``2``, ``'x'``, ``(1, 2)``,
``True``) and taken as a plain string when it is not one, so ``-p variant=buggy`` works.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from types import TracebackType

    from schedfuzz.execute import Outcome
    from schedfuzz.explore import Report

__all__ = ["main"]


class _BadInput(Exception):
    """Raised by the parser instead of exiting, so ``main`` can return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _BadInput(f"{self.prog}: {message} (see {self.prog} --help)")


def _parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """``["n=2", "variant=buggy"]`` -> ``{"n": 2, "variant": "buggy"}``."""
    params: dict[str, Any] = {}
    for item in items or ():
        name, eq, text = item.partition("=")
        name = name.strip()
        if not eq or not name.isidentifier():
            msg = f"-p {item!r}: expected NAME=VALUE with NAME a Python identifier"
            raise _BadInput(msg)
        if name in params:
            msg = f"-p {name}: parameter given twice"
            raise _BadInput(msg)
        try:
            params[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            params[name] = text
    return params


class _Ticker:
    """Elapsed time on a terminal's stderr while a long exploration runs, erased at the end.

    The engines report nothing while they search, so a thread prints the clock; it only writes
    to the stream, never touches the run.
    """

    def __init__(self, stream: IO[str], label: str, seconds: float | None, *,
                 delay: float = 1.5, period: float = 0.5) -> None:
        self.stream, self.label, self.seconds = stream, label, seconds
        self.delay, self.period = delay, period
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.width = 0

    def __enter__(self) -> _Ticker:
        isatty = getattr(self.stream, "isatty", None)
        if isatty is not None and isatty():
            self.thread = threading.Thread(target=self._tick, name="schedfuzz-ticker",
                                           daemon=True)
            self.thread.start()
        return self

    def _tick(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(self.period):
            elapsed = time.monotonic() - started
            if elapsed < self.delay:
                continue
            limit = f" of {self.seconds:g}s" if self.seconds else ""
            text = f"\r{self.label}: {elapsed:.0f}s{limit} ..."
            self.width = max(self.width, len(text))
            self.stream.write(text)
            self.stream.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.thread is None:
            return
        self.stop.set()
        self.thread.join()
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def _dump(obj: Any) -> str:
    return json.dumps(obj, default=repr, ensure_ascii=False)


# -- explore ------------------------------------------------------------------------------------

def _explore(args: argparse.Namespace) -> int:
    from schedfuzz import corpus
    from schedfuzz.execute import explain
    from schedfuzz.explore import Budget, engine, explore
    from schedfuzz.scenario import resolve

    info = resolve(args.scenario)
    params = _parse_params(args.param)
    info.check_params(params)
    try:
        engine(args.engine)
    except ImportError as exc:
        msg = f"engine {args.engine!r} is not available: {exc}"
        raise _BadInput(msg) from None
    limits = {"max_schedules": args.max_schedules, "seconds": args.seconds, "seed": args.seed,
              "workers": args.workers}
    budget = Budget(**{k: v for k, v in limits.items() if v is not None})
    with _Ticker(sys.stderr, f"exploring {info.name} with {args.engine}", budget.seconds):
        report = explore(info, engine_name=args.engine, budget=budget, **params)
    saved = None
    if report.failed and args.save is not None:
        assert report.outcome is not None  # failed implies an outcome
        saved = corpus.save(report.outcome, args.save)
    if args.json:
        print(_dump({**report.to_json(), "saved": None if saved is None else str(saved)}))
    else:
        if report.failed:
            assert report.outcome is not None
            print(explain(report.outcome))
            print()
        print(_explore_summary(report))
        if saved is not None:
            print(f"saved: {saved}")
    return 1 if report.failed else 0


def _explore_summary(report: Report) -> str:
    name, engine = report.scenario.name, report.engine
    rate = f", {report.schedules / report.seconds:.0f}/s" if report.seconds else ""
    if report.failed:
        text = (f"{name}: {report.verdict} found by {engine} "
                f"({_schedules(report.schedules)}, {report.seconds:.2f}s{rate})")
    else:
        scope = "explored completely" if report.complete else "within the budget"
        text = (f"{name}: no failure in {_schedules(report.schedules)} {scope} "
                f"({engine}, {report.seconds:.2f}s{rate})")
    if report.scenario.expect is not None and report.scenario.expect != report.verdict:
        text += f"; the scenario expects {report.scenario.expect}"
    return text + (f"; {report.note}" if report.note else "")


def _schedules(n: int) -> str:
    return f"{n} schedule" + ("" if n == 1 else "s")


# -- replay, replay-one ---------------------------------------------------------------------------

def _replay(args: argparse.Namespace) -> int:
    from schedfuzz import corpus
    from schedfuzz.errors import CorpusError

    rows: list[dict[str, Any]] = []
    code = 0
    for path, replayed in corpus.replay_all(args.paths):
        if isinstance(replayed, CorpusError):
            print(f"schedfuzz replay: {replayed}", file=sys.stderr)
            rows.append({"path": str(path), "status": "error", "error": str(replayed)})
            code = 2
            continue
        passed = replayed.passed(strict=args.strict)
        entry = replayed.entry
        row: dict[str, Any] = {
            "path": str(path), "status": "reproduced" if passed else "differs",
            "scenario": entry.info.name, "expected": entry.verdict, "verdict": replayed.verdict,
            "diverged": replayed.diverged, "trace_matches": not replayed.diff,
            "summary": replayed.summary(),
        }
        if not passed and args.update:
            row["updated"] = _update(replayed)
        rows.append(row)
        if not passed:
            code = max(code, 1)
        if not args.json:
            mark = "ok  " if passed else "FAIL"
            if args.quiet:
                print(f"{mark} {replayed.summary()}")
                if not passed and replayed.diff:
                    print("\n".join("     " + line for line in replayed.diff))
            else:
                print(f"{mark} {replayed.report()}\n")
            if row.get("updated"):
                print(f"     updated: {row['updated']}")
    if args.json:
        counts = {s: sum(1 for r in rows if r["status"] == s)
                  for s in ("reproduced", "differs", "error")}
        print(_dump({"files": rows, **counts}))
    elif not rows:
        print("no corpus files found", file=sys.stderr)
    else:
        bad = sum(1 for r in rows if r["status"] != "reproduced")
        print(f"{len(rows) - bad} of {len(rows)} corpus files gave their expected verdict")
    return code


def _update(replayed: Any) -> str | None:
    """Re-record a file whose replay differs (not one that diverged: that needs a new search)."""
    from schedfuzz import corpus

    entry = replayed.entry
    if replayed.outcome is None or replayed.diverged is not None or entry.path is None:
        return None
    new = corpus.save(replayed.outcome, entry.path.parent)
    if new != entry.path:
        entry.path.unlink(missing_ok=True)
    return str(new)


def _replay_one(args: argparse.Namespace) -> int:
    from schedfuzz import corpus
    from schedfuzz.execute import explain, run
    from schedfuzz.scenario import resolve
    from schedfuzz.schedule import Schedule

    info = resolve(args.scenario)
    params = _parse_params(args.param)
    info.check_params(params)
    schedule = Schedule.decode(args.schedule)
    outcome = run(info, schedule=schedule, **params)
    saved = corpus.save(outcome, args.save) if args.save is not None else None
    if args.json:
        print(_dump(_outcome_json(outcome, saved)))
    else:
        print(explain(outcome))
        if saved is not None:
            print(f"saved: {saved}")
    return 1 if outcome.failed else 0


def _outcome_json(outcome: Outcome, saved: Any) -> dict[str, Any]:
    result = outcome.result
    return {
        "scenario": outcome.info.name, "params": outcome.params, "verdict": result.kind,
        "error": None if result.error is None else type(result.error).__name__,
        "steps": result.steps, "preemptions": result.preemptions,
        "schedule": outcome.schedule.encode(), "trace": result.trace.lines(),
        "saved": None if saved is None else str(saved),
    }


# -- list -----------------------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    from schedfuzz.scenario import registry

    infos = list(registry().values())
    if args.json:
        print(_dump([{"name": i.name, "ref": i.ref, "expect": i.expect, "params": i.params,
                      "description": i.description} for i in infos]))
        return 0
    rows = []
    for info in infos:
        params = ", ".join(f"{k}={v!r}" for k, v in info.params.items())
        rows.append((info.name + (f" ({params})" if params else ""), info.expect or "-",
                     info.description))
    first = max((len(r[0]) for r in rows), default=0)
    for name, expect, description in rows:
        print(f"{name:<{first}}  {expect:<13}  {description}".rstrip())
    return 0


# -- the parser and main --------------------------------------------------------------------------

def _parser() -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument("--traceback", action="store_true",
                        help="show the traceback of an unexpected error")
    parser = _Parser(prog="schedfuzz", description="Property-based concurrency fuzzing: explore "
                     "the schedules of a scenario, save and replay reproducers.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def scenario_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("scenario", metavar="SCENARIO", help="registered name or module:function")
        p.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                       help="a scenario parameter; VALUE is a Python literal or a string")

    p = sub.add_parser("explore", parents=[common], help="search the schedules of a scenario")
    scenario_args(p)
    p.add_argument("--engine", default="hypothesis",
                   help="hypothesis (default), random, pct or dfs")
    p.add_argument("--max-schedules", type=int, metavar="N")
    p.add_argument("--seconds", type=float, metavar="S", help="wall-clock limit of the search")
    p.add_argument("--seed", type=int, metavar="N")
    p.add_argument("--workers", type=int, metavar="N")
    p.add_argument("--save", metavar="DIR", help="write the reproducer of a failure to DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_explore)

    p = sub.add_parser("replay", parents=[common], help="replay corpus files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--strict", action="store_true",
                   help="also require the trace to match the recording")
    p.add_argument("--update", action="store_true",
                   help="re-record the files whose replay differs")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_replay)

    p = sub.add_parser("replay-one", parents=[common], help="replay one schedule and explain it")
    scenario_args(p)
    p.add_argument("--schedule", required=True, metavar="sf1....")
    p.add_argument("--save", metavar="DIR", help="also write it to the corpus in DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_replay_one)

    p = sub.add_parser("list", parents=[common], help="the registered scenarios")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(handler=_list)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return f"schedfuzz {metadata.version('schedfuzz')}"
    except metadata.PackageNotFoundError:
        return "schedfuzz (version unknown)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    from schedfuzz.errors import SchedfuzzError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _BadInput as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    prog = f"schedfuzz {args.command}"
    _import_from_cwd()
    try:
        code: int = args.handler(args)
    except _BadInput as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except SchedfuzzError as exc:
        print(f"{prog}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.traceback:
            raise
        print(f"{prog}: {type(exc).__name__}: {_one_line(exc)} (--traceback shows where)",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    return code


def _import_from_cwd() -> None:
    """Let ``module:function`` and corpus refs find modules in the working directory, as they
    do under ``python -m``; the console script's own ``sys.path[0]`` is its bin folder."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
