"""The differential soundness test: generated programs, verdicts checked against each other.

Every example is a small concurrent program (``gen_programs``) with shared containers, closure
variables, object attributes, a module global, a linked list, iterators, locks, a condition,
``choose`` and loops. Three checks, each against something that does not trust the state
fingerprint:

(a) ``dfs`` with state caching reports exactly the verdicts of a stateless search under the same
    preemption bound. Both searches refuse every failure they find (``accept``), so both
    explore every schedule (or state) up to the bound, and each records, per verdict, the
    lowest level it was found at. The stateless one runs without lasso detection, so it uses
    no fingerprint at all: it sees safety verdicts (failure, deadlock, hang, missed wakeup)
    and runs cut at ``max_steps``. The two must agree on every safety verdict and its level,
    and a run the stateless search could not finish (one that still does not finish with four
    times the steps) must make the stateful search report a livelock or a step bound. The
    ``dfs`` engine as a user runs it (stopping at its first failure) must report the stateless
    search's cheapest verdict level, and "no failure" only when neither search found any (a
    livelock whose every round costs a preemption exists only in the stateful search's graph).
(b) Every proved livelock, from the stateful search or from single runs that look for lassos
    at every step, is replayed with its cycle repeated three more times, and the program's
    state (world and registers, compared by ``gen_programs.deep``) must be the same at every
    return to the cycle's start.
(c) A program without ``while`` loops, whose runs all end well below ``max_steps``, is never
    reported a livelock or a step bound, by any of them.

Compatible with the older API (no ``StepBound``: a bound was a ``Livelock`` without a lasso), so
the same file shows what it catches there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from gen_programs import Cond, Op, Probe, Program, build, programs
from hypothesis import example, given, note
from hypothesis import settings as hsettings

from schedfuzz import RandomOracle, ReplayOracle, Settings, run
from schedfuzz._core.runner import RunResult
from schedfuzz.explore import PROGRESS, Budget
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.search import dfs

MAX_PREEMPTIONS = 2
MAX_SCHEDULES = 1500  # per search; a level not finished within it is left out of the comparison
SEEDS = (0, 1, 2)  # single runs with lasso detection at every step, besides the default policy
ENDLESS = ("livelock", "step_bound")


def verdict_of(result: RunResult) -> str:
    """The verdict of a run: its kind, with a failure's exception and message (the generated
    assertions name their place), and ``step_bound`` for a run cut at ``max_steps``."""
    error = result.error
    if result.kind == "livelock" and result.lasso is None:
        return "step_bound"  # the older API's unproved livelock
    if result.kind == "failure":
        return f"failure: {type(error).__name__}: {error}"
    return result.kind


def proved_lasso(result: RunResult) -> bool:
    return (result.kind == "livelock" and result.lasso is not None
            and getattr(result.error, "proved", True))


@attrs.define
class Search:
    """What one exhaustive search found, refusing every failure so as to go on."""

    found: dict[str, int] = attrs.field(factory=dict)  # verdict -> lowest level
    endless: list[RunResult] = attrs.field(factory=list)  # runs cut at max_steps
    lassos: list[RunResult] = attrs.field(factory=list)
    unconfirmed: list[RunResult] = attrs.field(factory=list)  # "lassos" whose replay ended
    verified: int = -1  # every level up to this one explored completely

    def accept(self, result: RunResult) -> bool:
        if result.error is None:  # only a state graph's lasso, replayed, can come back clean
            self.unconfirmed.append(result)
            return False
        level = PROGRESS.get("level", 0)
        verdict = verdict_of(result)
        self.found[verdict] = min(level, self.found.get(verdict, level))
        if verdict == "step_bound":
            self.endless.append(result)
        if proved_lasso(result):
            self.lassos.append(result)
        return False

    def upto(self, level: int) -> dict[str, int]:
        return {v: lv for v, lv in self.found.items() if lv <= level}


def search(program: Program, settings: Settings, *, stateful: bool, bound: int) -> Search:
    """Every schedule up to ``bound`` preemptions (or as far as ``MAX_SCHEDULES`` goes)."""
    found = Search()
    info = ScenarioInfo("generated", build(program))
    report = dfs.search(info, {}, settings, Budget(max_schedules=MAX_SCHEDULES),
                        stateful=stateful, max_preemptions=bound, accept=found.accept)
    found.verified = bound if report.complete else report.stats.get("verified_preemptions", -1)
    found.verified = min(found.verified, bound)
    if report.outcome is not None:  # a verdict the search reported without asking ``accept``
        found.accept(report.outcome.result)
    return found


def settings_for(program: Program) -> Settings:
    """Steps enough for every terminating run (twice the static bound, spins included)."""
    return Settings(max_steps=2 * program.step_bound() + 20, fair_quantum=8)


def single_runs(program: Program, settings: Settings) -> list[RunResult]:
    """The default policy's run and a few random ones, looking for a lasso at every step."""
    eager = attrs.evolve(settings, lasso_after=0, lasso_every=1)
    oracles: list[Any] = [None, *(RandomOracle(seed) for seed in SEEDS)]
    return [run(build(program), oracle=oracle, settings=eager).result for oracle in oracles]


def unfinished_with_more_steps(program: Program, result: RunResult, settings: Settings) -> bool:
    """Replay a run cut at ``max_steps`` with four times the steps: does it still not end?"""
    longer = attrs.evolve(settings, max_steps=4 * settings.max_steps, detect_livelock=False)
    again = run(build(program), oracle=ReplayOracle(result.decisions), settings=longer).result
    return verdict_of(again) == "step_bound"


def check_cycle_repeats(program: Program, result: RunResult) -> None:
    """(b): replay the lasso with its cycle three more times; the state must come back."""
    assert result.lasso is not None
    first, end, d_first, _ = result.lasso
    length = end - first
    probe = Probe()
    settings = Settings(max_steps=first + 4 * length + 1, detect_livelock=False,
                        fair_quantum=8)
    oracle = ReplayOracle(result.decisions, None, d_first)
    again = run(build(program, probe), oracle=oracle, settings=settings).result
    snaps = probe.snapshots
    assert len(snaps) > first + 4 * length, (
        f"the lasso (stem {first} steps, cycle {length}) replayed with its cycle repeated "
        f"ended after {len(snaps) - 1} steps with {verdict_of(again)}: not a cycle")
    for turn in range(1, 5):
        assert snaps[first + turn * length] == snaps[first], (
            f"after {turn} turn(s) of the cycle (steps {first}..{end}), the state differs from "
            f"the cycle's start:\n  start: {snaps[first]}\n  now:   {snaps[first + turn * length]}")


@attrs.define
class Findings:
    """What every search and run said about one program."""

    program: Program
    settings: Settings
    stateless: Search
    stateful: Search
    singles: list[RunResult]
    default: tuple[str, int | None]  # the plain dfs engine's verdict and its cost


def explore_program(program: Program, say: Callable[[str], None] = note) -> Findings:
    settings = settings_for(program)
    stateless = search(program, attrs.evolve(settings, detect_livelock=False), stateful=False,
                       bound=MAX_PREEMPTIONS)
    stateful = search(program, settings, stateful=True, bound=max(stateless.verified, 0))
    singles = single_runs(program, settings)
    default = plain_dfs(program, settings, min(stateless.verified, stateful.verified))
    say(f"max_steps={settings.max_steps}; stateless: {stateless.found} (complete to "
        f"{stateless.verified}); stateful: {stateful.found} (complete to "
        f"{stateful.verified}); plain dfs: {default}; single runs: "
        f"{[verdict_of(r) for r in singles]}")
    return Findings(program, settings, stateless, stateful, singles, default)


def plain_dfs(program: Program, settings: Settings, bound: int) -> tuple[str, int | None]:
    """The ``dfs`` engine as a user runs it (stateful or not as it decides, stopping at the
    first failure) up to ``bound``: its verdict and the cost it gives it."""
    if bound < 0:
        return ("skipped", None)
    info = ScenarioInfo("generated", build(program))
    report = dfs.search(info, {}, settings, Budget(max_schedules=MAX_SCHEDULES),
                        max_preemptions=bound)
    if report.outcome is None or report.outcome.result.error is None:
        return ("ok", None)
    return (verdict_of(report.outcome.result), report.stats.get("min_preemptions"))


def check_bounded(found: Findings) -> None:
    """(c): a program whose runs all end is never a livelock or a step bound, from anyone."""
    if not found.program.bounded:
        return
    said = [v for v in (*found.stateless.found, *found.stateful.found,
                        *map(verdict_of, found.singles)) if v in ENDLESS]
    assert not said, f"a program whose runs all end was reported {said}"


def check_lassos(found: Findings) -> None:
    """(b): every proved livelock is a real cycle."""
    for result in found.stateful.unconfirmed:
        raise AssertionError(f"the stateful search's lasso, replayed, ended: {result.kind} "
                             f"after {result.steps} steps")
    for result in (*found.stateful.lassos, *(r for r in found.singles if proved_lasso(r))):
        check_cycle_repeats(found.program, result)


def check_agreement(found: Findings) -> None:
    """(a): state caching changes no verdict, and the plain engine's report (first failure
    and its cost, or none) is the stateless search's."""
    stateless, stateful = found.stateless, found.stateful
    level = min(stateless.verified, stateful.verified)
    if level < 0:
        return
    safety = {v: lv for v, lv in stateless.upto(level).items() if v not in ENDLESS}
    cached = {v: lv for v, lv in stateful.upto(level).items() if v not in ENDLESS}
    assert cached == safety, (
        f"with at most {level} preemptions, the stateless search found {safety} "
        f"(verdict: lowest level) and the stateful one {cached}")
    endless = [r for r in stateless.endless if r.steps and verdict_of(r) == "step_bound"
               and unfinished_with_more_steps(found.program, r, found.settings)]
    if endless:
        assert any(v in ENDLESS for v in stateful.found), (
            f"the stateless search has a run that does not end within {level} preemptions "
            f"(decisions {endless[0].decisions[:20]}...), the stateful search reports "
            f"{stateful.found or 'nothing'}")
    verdict, cost = found.default
    if verdict == "skipped":
        return
    if verdict == "ok":  # a livelock that costs preemptions every round: only a graph shows it
        assert "livelock" not in stateful.upto(level), (
            f"with at most {level} preemptions, the dfs engine reports no failure, the "
            f"stateful search proved a livelock: {stateful.found}")
    everything = stateless.upto(level)
    cheapest = min(everything.values(), default=None)
    assert (verdict == "ok") == (cheapest is None), (
        f"with at most {level} preemptions, the dfs engine reports {verdict}, the stateless "
        f"search found {everything or 'nothing'}")
    if cheapest is not None and cost is not None:
        assert cost == cheapest, (
            f"the dfs engine reports {verdict} at cost {cost}, the stateless search found "
            f"{everything} (verdict: lowest level)")


def check_program(program: Program, say: Callable[[str], None] = note) -> None:
    found = explore_program(program, say)
    check_bounded(found)
    check_lassos(found)
    check_agreement(found)


def _program(*actors: tuple[Op, ...], **data: Any) -> Program:
    return Program(dq=data.get("dq", ()), lst=data.get("lst", ()),
                   linked=data.get("linked", ()), gen_len=data.get("gen_len", 0),
                   actors=actors)


def _branch(op: Op, check: Cond, **data: Any) -> Program:
    """Actor 0 chooses 0 or 1 and does ``op`` only on 1 (a pop from an empty set on 0, so both
    branches take as many steps), then pops twice from an empty list (its register is -1 again
    in both); actor 1 asserts ``check``. The two branches meet at states that differ only in
    what ``op`` changed: a search that merges them misses the failure of the second."""
    chooser = (Op("choose", 2), Op("if", cond=Cond("r", "==", 1), body=(op,)),
               Op("if", cond=Cond("r", "==", 0), body=(Op("pop", "st"),)),
               Op("pop", "lst"), Op("pop", "lst"))
    return _program(chooser, (Op("assert", cond=check),), **data)


# Known ways to get the state wrong, checked first on every run (the generator finds others):
# the failure needs a deque's content, or the value at the end of a 14-node linked list;
DEQUE_BRANCH = _branch(Op("push", ("dq", 1)), Cond("len(dq)", "==", 0))
LINKED_TAIL = _branch(Op("poke", 1), Cond("tail", "==", 0), linked=(0,) * 14)
# a loop that drains a deque, or iterates an itertools.repeat, alone (each round looks the same
# if the iterator's content is not seen);
DEQUE_DRAIN = _program((Op("drain", "dq", body=(Op("choose", 2),)),),
                       (Op("pop", "lst"),), dq=(1, 2, 3, 0))
REPEAT_EACH = _program((Op("each", "rep", body=(Op("choose", 2),)),), (Op("choose", 3),))
# a loop whose counter lives only in a frame's locals (CPython 3.13's f_locals is a proxy);
COUNTER = _program((Op("repeat", 3, body=(Op("choose", 2),)),), (Op("choose", 3),))
# two actors that push to a deque and back off when both did: two preemptions make them push
# for ever, which a search that sees the deque only by identity does not notice.
_POLITE = (Op("while", cond=Cond("len(dq)", "!=", 1), body=(
    Op("push", ("dq", 0)), Op("if", cond=Cond("len(dq)", "==", 2), body=(Op("pop", "dq"),)))),)
POLITE_DEQUE = _program(_POLITE, _POLITE)


@hsettings(max_examples=150, deadline=None)
@given(programs())
@example(DEQUE_BRANCH)
@example(LINKED_TAIL)
@example(DEQUE_DRAIN)
@example(REPEAT_EACH)
@example(COUNTER)
@example(POLITE_DEQUE)
def test_generated_programs_get_sound_verdicts(program: Program) -> None:
    check_program(program)
