"""What an oracle may see of the run that asks it, and the policy state it must track itself.

``Oracle.choose(n)`` gets only the number of enabled actors. An engine that reasons about *which*
actor runs (PCT's priorities) or about the cost of an answer (the exhaustive search's preemption
bound) reads the asking runner through the thread-local the traps use. At a choice point the run
loop publishes ``runner.runnable`` (the candidates, in spawn order), ``runner.keep`` (does answer
0 keep the current actor?) and ``runner.choice_order()`` (the candidates in answer order).

The run loop keeps its count of consecutive steps in a local, so ``RunCount`` rebuilds it from the
trace for the engines that fingerprint states at choice points.
"""

from __future__ import annotations

from schedfuzz._core import traps
from schedfuzz._core.actor import Actor, ActorState
from schedfuzz._core.runner import Runner
from schedfuzz.errors import SchedfuzzInternalError

__all__ = ["RunCount", "asking_runner", "choice_order", "enabled_mask", "keeps_current"]

RUNNABLE = ActorState.RUNNABLE


def asking_runner() -> Runner:
    """The runner whose ``choose`` call is in progress."""
    runner = traps.LOCAL.runner
    if runner is None:
        msg = "an engine oracle was asked for a decision outside a run"
        raise SchedfuzzInternalError(msg)
    return runner


def keeps_current(runner: Runner) -> bool:
    """Whether answer 0 keeps the current actor, i.e. whether any other answer is a preemption."""
    return bool(runner.keep)


def choice_order(runner: Runner) -> list[Actor]:
    """The candidates in the order the answers index them."""
    return runner.choice_order()


def enabled_mask(runner: Runner) -> int:
    """Bit mask of the candidates at this choice point."""
    mask = 0
    for a in runner.runnable:
        mask |= 1 << a.aid
    return mask


class RunCount:
    """The run loop's count of consecutive steps of the current actor taken while others were
    enabled (what the fair quantum limits), rebuilt from the trace at each choice point.

    Feed it every choice point of the run, in order: a step is a choice point exactly when the
    oracle was asked, every other step had one candidate.
    """

    def __init__(self) -> None:
        self.actor = -1
        self.count = 0
        self.seen = 0  # trace rows accounted for
        self.last_choice = -1  # step of the previous choice point

    def at_choice(self, runner: Runner) -> int:
        """Update to ``runner.step`` (the choice point being asked) and return the count."""
        rows = runner.trace.rows
        step = runner.step
        for s in range(self.seen, step):
            aid = rows[s][0]
            if s == self.last_choice:
                self.count = self.count + 1 if aid == self.actor else 1
            elif aid != self.actor:
                self.count = 0
            self.actor = aid
        self.seen = step
        self.last_choice = step
        return self.count
