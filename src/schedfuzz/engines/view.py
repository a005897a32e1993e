"""What an oracle may see of the run that asks it, and the policy state it must track itself.

``Oracle.choose(n)`` gets only the number of enabled actors. An engine that reasons about *which*
actor runs (PCT's priorities) or about the cost of an answer (the exhaustive search's preemption
bound) reads the asking runner through the thread-local the traps use. At a choice point the run
loop publishes ``runner.runnable`` (the candidates, in spawn order), ``runner.keep`` (does answer
0 keep the current actor?) and ``runner.choice_order()`` (the candidates in answer order).

The run loop keeps its count of consecutive steps in a local, so ``RunCount`` rebuilds it from the
trace for the engines that fingerprint states at choice points. ``StepDigest`` sums the trace up
in one number, for an engine that checks a replay takes the steps it recorded.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from schedfuzz._core import traps
from schedfuzz._core.actor import Actor, ActorState
from schedfuzz._core.runner import Runner
from schedfuzz.errors import SchedfuzzInternalError

__all__ = ["RunCount", "StepDigest", "asking_runner", "choice_order", "enabled_mask",
           "keeps_current"]

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


# label -> a number for it: a str's own hash differs between processes, and a digest is saved in
# a checkpoint and compared in the next process. Cleared when large, for labels made on the fly.
_LABEL_CODES: dict[str, int] = {}


def _label_codes(rows: Sequence[tuple[int, str, object]]) -> dict[str, int]:
    """The label codes, with every label of ``rows`` in them."""
    codes = _LABEL_CODES
    if len(codes) > 4096:
        codes.clear()
    for _, label, _ in rows:
        if label not in codes:
            codes[label] = zlib.crc32(str(label).encode()) << 16  # the actor id goes below
    return codes


class StepDigest:
    """A digest of the steps a run has taken so far: which actor took each, and which
    operation (its trace label). The same in every process for the same steps (a tuple of
    ints hashes alike in every process of one Python version, which a checkpoint records).

    Ask it at the run's choice points, in order. Each step's code is worked out once; the
    digest is the hash of all of them, so it does not depend on where the run asked before
    (an exploring run asks at every branching point, a replay once at its end).
    """

    def __init__(self) -> None:
        self.value = hash(())
        self.steps: list[int] = []  # one code per trace row: its label's code plus its actor

    def at(self, runner: Runner) -> int:
        """The digest of the steps before ``runner.step``."""
        seen, step = len(self.steps), runner.step
        if step > seen:
            rows = runner.trace.rows[seen:step]
            codes = _LABEL_CODES
            try:
                self.steps += [codes[label] + aid for aid, label, _ in rows]
            except KeyError:  # a label not met before
                codes = _label_codes(rows)
                self.steps += [codes[label] + aid for aid, label, _ in rows]
            self.value = hash(tuple(self.steps))
        return self.value
