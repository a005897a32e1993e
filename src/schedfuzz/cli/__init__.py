"""The ``schedfuzz`` command line: explore, replay, replay-one, list.

Exit codes are part of the contract, so scripts and CI can branch on them:

* ``0``: nothing wrong (no failure found; every corpus file gave its expected verdict);
* ``1``: a failure was found (explore, replay-one) or a corpus file no longer gives its verdict;
* ``2``: bad input: an unknown scenario or engine, a bad parameter or option, an unreadable corpus
  file. One line on stderr, never a traceback (``--traceback`` shows one for unexpected errors).
  ``replay`` still runs the readable files; when some differ and some are unreadable, 2 wins.

Numeric options are checked as they are parsed: ``nan``, infinities, negative numbers and
(except ``--checkpoint-every``, where 0 means "as often as allowed") zero are refused with one
line and exit 2; leave ``--seconds`` out for no time limit. ``--help`` shows every default.
``--seconds`` bounds the whole command, search and shrinking (``explore.Budget``).

Parameters are ``-p NAME=VALUE``; VALUE is read as a Python literal (``2``, ``'x'``, ``(1, 2)``,
``True``) and taken as a plain string when it is not one, so ``-p variant=buggy`` works.

This module holds the parser, the dispatch and the one-line error handling; each command lives in
its own module (``explore``, ``replay`` for replay and replay-one, ``listing`` for list), with
what they share in ``common`` and the progress display in ``ticker``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from schedfuzz.cli.common import BadInput
from schedfuzz.cli.common import parse_params as _parse_params  # noqa: F401  (tests call it)
from schedfuzz.cli.explore import run_explore
from schedfuzz.cli.listing import run_list
from schedfuzz.cli.replay import run_replay, run_replay_one
from schedfuzz.cli.ticker import Ticker as _Ticker  # noqa: F401  (tests drive it)

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that raises ``BadInput`` instead of exiting, so ``main`` returns 2."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message} (see {self.prog} --help)")


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
        p.add_argument("--threads", action="store_true",
                       help="SCENARIO is a plain function that uses threading: run it as "
                       "MainThread and every thread it starts as an actor")
        p.add_argument("--preempt-in", metavar="MODULE[,MODULE...]",
                       help="with --threads: a scheduling point at every statement of these "
                       "modules' functions (races on plain attributes and items)")

    p = sub.add_parser("explore", parents=[common], help="search the schedules of a scenario")
    scenario_args(p)
    p.add_argument("--engine", default="hypothesis",
                   help="hypothesis, random, pct or dfs (default: hypothesis)")
    p.add_argument("--max-schedules", type=_count(1), metavar="N",
                   help="schedules to search at most (default: 1000 without --seconds, no "
                        "limit with it)")
    p.add_argument("--seconds", type=_seconds(above_zero=True), metavar="S",
                   help="wall-clock limit of the whole command: the search, the shrinking of "
                        "a failure found, and worker processes (checked between runs; "
                        "default: none, no time limit)")
    p.add_argument("--seed", type=_count(0), metavar="N",
                   help="seed of the engine's choices; the same seed, the same search "
                        "(default: 0)")
    p.add_argument("--workers", type=_count(1), metavar="N",
                   help="processes to search with: random, pct, dfs (default: 1)")
    p.add_argument("--max-preemptions", type=_count(0), metavar="K",
                   help="dfs: stop after proving every schedule with at most K preemptions "
                        "(default: no bound; the search goes on until a limit stops it)")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="dfs: resume the search from FILE if it exists, save it there while it "
                        "runs and when the budget ends; removed once the search finishes "
                        "(default: none)")
    p.add_argument("--checkpoint-every", type=_seconds(above_zero=False), metavar="S",
                   help="dfs: seconds between two saves of the checkpoint; 0 saves as often as "
                        "a twentieth of the time allows (default: 60)")
    p.add_argument("--save", metavar="DIR", help="write the reproducer of a failure to DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_explore)

    p = sub.add_parser("replay", parents=[common], help="replay corpus files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--strict", action="store_true",
                   help="also require the trace to match the recording")
    p.add_argument("--update", action="store_true",
                   help="re-record the files whose replay differs")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="let a file's ref import MODULE (and its submodules) to find a "
                        "registered scenario; without it, a ref names only scenarios of modules "
                        "already imported or of the schedfuzz.scenarios entry points")
    p.add_argument("-q", "--quiet", action="store_true", help="one line per file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_replay)

    p = sub.add_parser("replay-one", parents=[common], help="replay one schedule and explain it")
    scenario_args(p)
    p.add_argument("--schedule", required=True, metavar="sf1....")
    p.add_argument("--save", metavar="DIR", help="also write it to the corpus in DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_replay_one)

    p = sub.add_parser("list", parents=[common], help="the registered scenarios")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(handler=run_list)
    return parser


def _count(least: int) -> Callable[[str], int]:
    """An ``argparse`` type: an int of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            msg = f"expected an int of at least {least}, got {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if value < least:
            msg = f"expected an int of at least {least}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def _seconds(*, above_zero: bool) -> Callable[[str], float]:
    """An ``argparse`` type: a finite number of seconds, positive (``above_zero``) or not
    negative. ``nan`` and ``inf`` are refused: leave ``--seconds`` out for no time limit."""
    what = "a positive" if above_zero else "a non-negative"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (above_zero and value == 0):
            msg = f"expected {what}, finite number of seconds, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def _version() -> str:
    from importlib import metadata

    try:
        return f"schedfuzz {metadata.version('schedfuzz')}"
    except metadata.PackageNotFoundError:
        return "schedfuzz (version unknown)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring).

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.

    Example:
        ``main(["explore", "demo.abba", "--max-schedules", "500", "--save", "corpus"])``
        searches, prints the explained failure and returns 1.
    """
    from schedfuzz.errors import SchedfuzzError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except BadInput as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    prog = f"schedfuzz {args.command}"
    _import_from_cwd()
    try:
        code: int = args.handler(args)
    except BadInput as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except SchedfuzzError as exc:
        print(f"{prog}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"{prog}: {exc.args[0] if exc.args else 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except Exception as exc:
        if args.traceback:
            raise
        print(f"{prog}: {type(exc).__name__}: {_one_line(exc)} (--traceback shows where)",
              file=sys.stderr)
        return 2
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _closed_pipe()
    return code


def _closed_pipe() -> int:
    """The reader went away (``schedfuzz list | head``): not an error of ours. Point stdout at
    /dev/null so the interpreter's own flush at exit does not complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _import_from_cwd() -> None:
    """Let ``module:function`` and corpus refs find modules in the working directory, as they
    do under ``python -m``; the console script's own ``sys.path[0]`` is its bin folder."""
    cwd = os.getcwd()
    if "" not in sys.path and cwd not in sys.path:
        sys.path.insert(0, cwd)


def _one_line(exc: BaseException) -> str:
    """The exception's message and its notes (where it was raised: "raised in the scenario's
    snapshot() callback, at prog.py:12 in snap"), on one line."""
    notes = [str(n) for n in getattr(exc, "__notes__", ())]
    return " ".join("; ".join([str(exc), *notes]).split())
