"""A run as the actors' turns, and the moves that merge them: trace simplification.

A failing run found by a random walk switches actors all the time. Read as a sequence of
*blocks* (maximal stretches of steps by one actor), most of its switches separate two blocks of
the same actor that could just as well be one: ``A B A C`` often fails as ``A A B C``. Editing
the decision list cannot see this, because a decision is relative ("the k-th other enabled
actor"), so moving one switch changes the meaning of every later answer. Editing the *actor
order* can: this module proposes orders with two blocks of one actor joined, and replays each
with an oracle that follows the order as far as the run allows.

This is the context-switch reduction of Tinertia (Jalbert and Sen, "A trace simplification
technique for effective debugging of concurrent programs", FSE 2010), which shrinks a thread
schedule by moving whole blocks and keeping a move only if the failure stays. On a walk's
failure it removes most of the switches in a few dozen runs, before any search below the
count is needed; ``schedfuzz.reduce.shrink`` runs it as its first pass.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from schedfuzz._core.oracle import Oracle

__all__ = ["GuidedOracle", "joined_orders", "turns", "values_by_actor"]


def turns(order: Sequence[int]) -> list[tuple[int, int, int]]:
    """The blocks of an actor order (one actor id per step) as ``(actor, start, length)``."""
    out: list[tuple[int, int, int]] = []
    for i, aid in enumerate(order):
        if out and out[-1][0] == aid:
            last = out[-1]
            out[-1] = (aid, last[1], last[2] + 1)
        else:
            out.append((aid, i, 1))
    return out


def joined_orders(order: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Orders with one pair of same-actor blocks joined, earliest pairs first.

    For each block and the previous block of the same actor (with others between), two moves:
    the later block moves up to follow the earlier one, or the earlier block moves down to
    precede the later one. Either removes up to two switches; which one keeps the failure
    depends on what the blocks between them do.
    """
    seq = tuple(order)
    blocks = turns(seq)
    last_of: dict[int, int] = {}
    for j, (aid, start_j, length_j) in enumerate(blocks):
        i = last_of.get(aid)
        last_of[aid] = j
        if i is None or i == j - 1:
            continue
        _, start_i, length_i = blocks[i]
        end_i, end_j = start_i + length_i, start_j + length_j
        yield seq[:end_i] + seq[start_j:end_j] + seq[end_i:start_j] + seq[end_j:]
        yield seq[:start_i] + seq[end_i:start_j] + seq[start_i:end_i] + seq[start_j:]


class GuidedOracle(Oracle):
    """Answers so that the run follows an actor order as closely as it can.

    Each step an actor takes uses up its next entry in the order, wherever the run is; at a
    choice point the enabled actor whose next entry comes first runs. So a run that departs
    from the order (an actor blocked where it used to run) catches up with it again instead of
    drifting. Where no enabled actor has entries left, the answer is the default policy's.
    """

    def __init__(self, order: Sequence[int],
                 values: Mapping[int, Sequence[int]] | None = None) -> None:
        self.entries: dict[int, deque[int]] = {}
        for position, aid in enumerate(order):
            self.entries.setdefault(aid, deque()).append(position)
        # Each actor's ``choose`` values, in its order: the n-th choice of an actor gets the
        # n-th value it got in the run the order comes from, wherever its steps moved.
        self.values = {aid: deque(v) for aid, v in (values or {}).items()}
        self.left = len(order)
        self.seen = 0  # steps of the run accounted for
        self.exhausted = not order

    def choose_value(self, n: int) -> int:
        """The chooser's next value, the first option once none is left."""
        runner = self.run
        assert runner is not None  # internal: new_run came first
        left = self.values.get(runner.current.aid) if runner.current is not None else None
        value = left.popleft() if left else 0
        return value if value < n else 0

    def choose_actor(self, n: int) -> int:
        runner = self.run
        assert runner is not None  # internal: new_run came first
        rows = runner.trace.rows
        entries = self.entries
        for s in range(self.seen, runner.step):
            left = entries.get(rows[s][0])
            if left:
                left.popleft()
                self.left -= 1
        self.seen = runner.step
        self.exhausted = not self.left
        best, answer = -1, 0
        for i, actor in enumerate(runner.choice_order()):
            left = entries.get(actor.aid)
            if left and (best < 0 or left[0] < best):
                best, answer = left[0], i
        return answer


def values_by_actor(rows: Sequence[tuple[int, Any, Any]],
                    values: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """Each actor's ``choose`` values in its own order, from a run's trace rows and its
    ``(step, index)`` values (``RunResult.values``): what a ``GuidedOracle`` gives back."""
    out: dict[int, list[int]] = {}
    for step, index in values:
        out.setdefault(rows[step][0], []).append(index)
    return out
