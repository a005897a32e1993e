"""``schedfuzz explore``: search the schedules of a scenario, explain a failure, maybe save it.

Exit 1 when a failure is found (a ``step_bound`` too: a run that did not end within
``Settings.max_steps`` is a finding to look at, though not a proof), 0 when the budget ran out
(or the space was exhausted) without one. The corpus and search modules are imported inside
``run_explore``, as in every command: ``schedfuzz --help`` imports none of them, and each command
only what it runs.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from schedfuzz.cli.common import BadInput, check_save_dir, dump, parse_params, scenario_of
from schedfuzz.cli.ticker import Ticker, progress

if TYPE_CHECKING:
    import argparse

    from schedfuzz.verdict import Report

__all__ = ["run_explore"]


def run_explore(args: argparse.Namespace) -> int:
    """Run ``explore`` with the parsed ``args``; returns the exit code."""
    from schedfuzz._core import clock

    # --seconds bounds the whole command, from here: importing the engine counts too.
    deadline = None if args.seconds is None else clock.now() + args.seconds
    from schedfuzz import corpus
    from schedfuzz.budget import Budget
    from schedfuzz.engines import engine
    from schedfuzz.execute import explain
    from schedfuzz.explore import explore
    from schedfuzz.search.checkpoint import log_saves_to_stderr

    info = scenario_of(args)
    params = parse_params(args.param)
    info.check_params(params)
    check_save_dir(args.save)
    try:
        engine(args.engine)
    except ImportError as exc:
        msg = f"engine {args.engine!r} is not available: {exc}"
        raise BadInput(msg) from None
    for flag, value in (("--max-preemptions", args.max_preemptions),
                        ("--checkpoint", args.checkpoint),
                        ("--checkpoint-every", args.checkpoint_every)):
        if value is not None and args.engine != "dfs":
            msg = f"{flag} is for the dfs engine's search, not the {args.engine} engine's"
            raise BadInput(msg)
    if args.checkpoint_every is not None and args.checkpoint is None:
        msg = "--checkpoint-every needs --checkpoint FILE"
        raise BadInput(msg)
    if args.max_preemptions is not None and args.max_schedules is None:
        args.max_schedules = 1 << 40  # a proof runs until the bound, not a schedule count
    limits = {"max_schedules": args.max_schedules, "seconds": args.seconds, "seed": args.seed,
              "workers": args.workers, "max_preemptions": args.max_preemptions,
              "checkpoint": args.checkpoint, "checkpoint_every": args.checkpoint_every}
    budget = Budget(**{k: v for k, v in limits.items() if v is not None}, deadline=deadline)
    # A long proof in a log gets a line per save; a terminal has the ticker instead.
    logged = args.checkpoint is not None and not sys.stderr.isatty()
    try:
        with Ticker(sys.stderr, f"exploring {info.name} with {args.engine}", budget.seconds), \
                log_saves_to_stderr() if logged else contextlib.nullcontext():
            report = explore(info, engine_name=args.engine, budget=budget, **params)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(_interrupted(args.checkpoint)) from None
    saved = None
    unsaved = None  # why --save failed: said after the failure is shown, so it is not lost
    if report.failed and args.save is not None:
        assert report.outcome is not None  # failed implies an outcome
        try:
            saved = corpus.save(report.outcome, args.save)
        except OSError as exc:
            unsaved = f"--save {args.save}: {exc.strerror or exc}"
    if args.json:
        print(dump({**report.to_json(), "saved": None if saved is None else str(saved)}))
    else:
        if report.failed:
            assert report.outcome is not None
            print(explain(report.outcome))
            print()
        print(_summary(report))
        if saved is not None:
            print(f"saved: {saved}")
    if unsaved is not None:
        raise BadInput(unsaved)
    return 1 if report.failed else 0


def _summary(report: Report) -> str:
    """One line: what was found (or not), by which engine, how many schedules, how fast, and
    what was proved (the fields ``--json`` has, in words)."""
    name, engine = report.scenario.name, report.engine
    rate = f", {report.schedules / report.seconds:.0f}/s" if report.seconds else ""
    if report.failed:
        text = (f"{name}: {report.verdict} found by {engine} "
                f"({_schedules(report.schedules)}, {report.seconds:.2f}s{rate})")
    else:
        scope = ("explored completely" if report.complete
                 else "up to the preemption bound" if report.stopped_by == "max_preemptions"
                 and report.proof == "bounded"
                 else "within the budget")
        text = (f"{name}: no failure in {_schedules(report.schedules)} {scope} "
                f"({engine}, {report.seconds:.2f}s{rate})")
    if report.scenario.expect is not None and report.scenario.expect != report.verdict:
        text += f"; the scenario expects {report.scenario.expect}"
    return text + f"; {_proved(report)}" + (f"; {report.note}" if report.note else "")


def _proved(report: Report) -> str:
    """``Report``'s typed fields in words: ``proof: bounded (at most 2 preemptions), livelocks
    not checked, stopped by max_preemptions``."""
    what = report.proof
    if report.proof == "bounded":
        bound = report.proof_bound
        what += f" (at most {bound} preemption{'' if bound == 1 else 's'})"
    elif report.proof == "sampled":
        what += " (not a proof)"
    if report.verified:
        what += ", livelocks " + ("checked" if report.livelocks_checked else "not checked")
    if report.verdict == "step_bound":
        what += ", step bound: a bound, not a proof"
    elif report.livelock_proved is not None:
        what += (", livelock proved (a lasso)" if report.livelock_proved
                 else ", livelock not proved (a candidate)")
    if report.inexact:
        what += f", inexact states: {'; '.join(report.inexact)}"
    return f"proof: {what}" + (f", stopped by {report.stopped_by}" if report.stopped_by else "")


def _interrupted(checkpoint: str | None) -> str:
    """What ``main`` says on Ctrl-C: how far the search got (the counts the ticker shows), and
    where its last save is."""
    done = progress()
    text = "interrupted" + (f" after {done}" if done else "")
    if checkpoint is not None:
        import os

        text += ("; the last save is in " + checkpoint if os.path.exists(checkpoint)
                 else "; nothing saved yet")
    return text


def _schedules(n: int) -> str:
    return f"{n} schedule" + ("" if n == 1 else "s")
