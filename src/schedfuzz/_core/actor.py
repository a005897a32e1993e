"""Actor: one greenlet the scheduler controls, and the record of what it is waiting for."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, final

import attrs

if TYPE_CHECKING:
    from greenlet import greenlet

    from schedfuzz._core.waitqueue import Waiter

__all__ = ["Actor", "ActorState", "Block"]


class ActorState(enum.IntEnum):
    """Where an actor stands. The run loop reads this on every step, so it is an IntEnum."""

    RUNNABLE = 0  # may be chosen to run
    BLOCKED = 1  # parked on a Waiter, or on a predicate (see Block)
    DONE = 2  # returned or raised


@attrs.define(eq=False, slots=True)
class Block:
    """Why an actor is blocked; read by detect.py to tell deadlock, hang and missed wakeup apart.

    Attributes:
        what: a short description ("Lock 'L1'", "wait_event(nonempty)").
        since: the step at which the actor blocked.
        waiter: the wait-queue entry it sleeps on, or None for a predicate block.
        until: a predicate that unblocks the actor when it becomes true (``block_until``);
            the runner re-evaluates it at every scheduling point.
        cond: the condition the sleeper waits for, if it is known. A sleeper blocked forever while
            ``cond()`` holds is a missed wakeup.
        on: the resource it waits for; if it has ``__schedfuzz_holders__`` the holders are the
            other ends of wait-for edges (deadlock cycles).
        killable: a signal (``schedfuzz.signal``) wakes it.
        spurious: the primitive allows spurious wake-ups; with ``Settings.spurious_wakeups`` the
            oracle may wake the sleeper without a wake-up.
    """

    what: str
    since: int
    waiter: Waiter | None = None
    until: Callable[[], bool] | None = None
    cond: Callable[[], bool] | None = None
    on: object = None
    killable: bool = False
    spurious: bool = False

    def __schedfuzz_state__(self) -> object:
        # Not since (history); the waiter and predicate are seen through the actor's frames.
        return (self.what, self.killable, self.spurious)


@final
@attrs.define(eq=False, slots=True, repr=False)
class Actor:
    """A modelled thread of control: a greenlet whose parent is the runner's greenlet.

    Created only by ``Runner.spawn``.

    # Invariant: state is DONE  <=>  the greenlet is dead (or was never started and was killed).
    # Invariant: state is BLOCKED  <=>  block is not None.
    """

    aid: int
    name: str
    greenlet: greenlet
    # The hub's bound switch: the one way back to the scheduler (hub and spoke).
    hub_switch: Callable[..., object]
    # Its own bound switch, so the run loop saves an attribute lookup per step.
    resume: Callable[..., object]
    state: ActorState = ActorState.RUNNABLE
    block: Block | None = None
    # The operation the actor will perform when next resumed: set by each trap.
    label: str = "start"
    args: dict[str, Any] | None = None
    # True when the actor's last trap was checkpoint(yield_=True): the default policy moves on.
    yielded: bool = False
    # A data choice (``schedfuzz.choose``) waiting for its value: the options, and the index the
    # oracle picked when the actor was resumed.
    options: Sequence[Any] | None = None
    chosen: int = 0
    signal_pending: bool = False
    # Set by a wake-up that interrupted a killable sleep; read and cleared by Waiter.sleep.
    interrupted: bool = False
    result: object = None
    error: BaseException | None = None

    @property
    def bit(self) -> int:
        return 1 << self.aid

    def __schedfuzz_state__(self) -> object:
        return self.aid  # an actor seen from another's frame is a reference, not a state

    def __repr__(self) -> str:
        return f"<Actor {self.aid} {self.name!r} {self.state.name}>"
