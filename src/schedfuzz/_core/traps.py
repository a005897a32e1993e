"""Traps: these are the only functions that switch from an actor to the scheduler.

Every visible operation of a modelled primitive performs exactly one trap *before* its effect, so
the code between two traps runs atomically and the trace row of a step names the operation the
actor performs when it is resumed. A blocking operation traps again (``park``) only when it really
has to wait.

The runner of the current thread is found through a thread-local; a run never crosses threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from greenlet import getcurrent

from schedfuzz._core.actor import ActorState, Block
from schedfuzz._core.fingerprint import position_only
from schedfuzz.errors import InvalidArgument, NotInActor, SchedfuzzInternalError

if TYPE_CHECKING:
    from schedfuzz._core.actor import Actor
    from schedfuzz._core.runner import Runner

__all__ = [
    "RESUME",
    "TRAP",
    "annotate",
    "block_until",
    "checkpoint",
    "choose",
    "current_actor",
    "current_runner",
    "park",
    "progress",
    "running_actor",
    "unpark",
]

# The two messages of the switch protocol; anything else crossing a switch is an internal error.
TRAP = object()  # actor -> runner: "I stopped at a scheduling point"
RESUME = object()  # runner -> actor: "go on"


class _Local(threading.local):
    runner: Runner | None = None


LOCAL = _Local()


def current_runner() -> Runner:
    """The runner of this thread; raises ``NotInActor`` outside a run."""
    runner = LOCAL.runner
    if runner is None:
        msg = "no schedfuzz run is active: call this from a scenario or an actor"
        raise NotInActor(msg)
    return runner


def running_actor() -> Actor | None:
    """The actor running now, or None (the hub, another OS thread, no run): for code that
    acts one way inside an actor and another outside, such as ``schedfuzz.threads``."""
    return getattr(getcurrent(), "actor", None)


def current_actor() -> Actor:
    """The actor that is running now; raises ``NotInActor`` from outside an actor."""
    runner = LOCAL.runner
    actor = None if runner is None else runner.active
    if actor is None:
        msg = "this operation must be called from inside an actor (see schedfuzz.spawn)"
        raise NotInActor(msg)
    return actor


def _switch_out(runner: Runner) -> None:
    message = runner.hub.switch(TRAP)
    if message is not RESUME:
        msg = f"actor resumed with {message!r} instead of RESUME; please file a bug"
        raise SchedfuzzInternalError(msg)


def checkpoint(label: str = "checkpoint", /, *, yield_: bool = False, **args: Any) -> None:
    """A scheduling point: let the scheduler run another actor before this one goes on.

    Args:
        label: the operation this actor performs next; it names the step in the trace.
        yield_: this actor is spinning or backing off. The default policy then runs another
            enabled actor first, so a spin-wait is fair without any oracle decision.
        **args: values shown next to the label in the trace (keep them small and plain).
    """
    # The hot path of every modelled operation: the actor is found through the current
    # greenlet (cheaper than the thread-local), and the switch back to the hub is inlined.
    try:
        actor = getcurrent().actor
    except AttributeError:
        msg = f"checkpoint({label!r}) must be called from inside an actor"
        raise NotInActor(msg) from None
    actor.label = label
    actor.args = args or None
    actor.yielded = yield_
    if actor.hub_switch(TRAP) is not RESUME:
        msg = f"actor {actor.name!r} resumed without RESUME; please file a bug"
        raise SchedfuzzInternalError(msg)


# A suspended checkpoint's locals are the pending step's label and trace arguments: what the
# trace shows, not what the actor does next.
position_only(checkpoint.__code__)


T = TypeVar("T")


@overload
def choose(options: int, /, label: str = ...) -> int: ...
@overload
def choose(options: Sequence[T], /, label: str = ...) -> T: ...
def choose(options: int | Sequence[T], /, label: str = "choose") -> int | T:
    """A value the scheduler's oracle picks: one of ``options``, or of ``range(options)``.

    For what the code under test cannot know in advance: a timeout that may fire, a message
    that may be lost, a random back-off. Like ``checkpoint`` it is a step of this actor, and
    the value is decided when the step is taken, by the same oracle as the schedule: every
    engine explores it (``dfs`` tries every value, at no preemption cost), the shrinker brings
    it down, and a schedule replays it. The first option is the default policy's, so put the
    ordinary case first. Never call ``random`` in an actor: a value the oracle does not decide
    makes the scenario nondeterministic, and every search over it void.
    """
    values: Sequence[Any] = range(options) if isinstance(options, int) else options
    if isinstance(options, bool) or not isinstance(options, (int, Sequence)) or not values:
        msg = (f"choose({options!r}): give a non-empty sequence of options, or their number "
               "(a positive int)")
        raise InvalidArgument(msg)
    try:
        actor = getcurrent().actor
    except AttributeError:
        msg = f"choose({label!r}) must be called from inside an actor"
        raise NotInActor(msg) from None
    actor.options = values  # the run loop asks the oracle for the index when it resumes us
    try:
        checkpoint(label)
    finally:
        actor.options = None
    return values[actor.chosen]  # type: ignore[no-any-return]


def park(block: Block, label: str) -> None:
    """Block the current actor until ``unpark`` (or its ``block.until`` predicate) releases it."""
    runner = LOCAL.runner
    actor = None if runner is None else runner.active
    if actor is None:
        msg = f"{block.what}: blocking is only possible inside an actor"
        raise NotInActor(msg)
    actor.state = ActorState.BLOCKED
    actor.block = block
    runner.dirty = True  # type: ignore[union-attr]
    actor.label = label
    actor.yielded = False
    if block.until is not None:
        runner.predicate_blocked.append(actor)  # type: ignore[union-attr]
    _switch_out(runner)  # type: ignore[arg-type]


def unpark(actor: Actor) -> None:
    """Make a blocked actor runnable again (called by the primitive that wakes it)."""
    actor.state = ActorState.RUNNABLE
    actor.block = None
    runner = LOCAL.runner
    if runner is not None:
        runner.dirty = True


def block_until(
    predicate: Callable[[], bool], label: str = "block_until", *, on: object = None
) -> None:
    """Disable the current actor until ``predicate()`` is true, without taking steps meanwhile.

    This is how a model says "spins until X" without the spin counting as steps: a lock-free
    retry loop such as a speculative page reference on a frozen page. If it never becomes true the
    run ends in a hang that names ``label``. The predicate must read shared state only.
    """
    if predicate():
        return
    runner = current_runner()
    park(Block(what=label, since=runner.step, until=predicate, on=on), label)


def annotate(**args: Any) -> None:
    """Add values to the trace row of the step the current actor is taking.

    For what is known only after the effect: ``annotate(refcount="1->0")`` after a put. The
    values are shown like the checkpoint's own arguments; they do not affect scheduling.
    """
    runner = current_runner()
    actor = runner.active
    if actor is None or not runner.trace.rows:
        msg = "annotate() must be called from inside an actor"
        raise NotInActor(msg)
    aid, label, old = runner.trace.rows[-1]
    runner.trace.rows[-1] = (aid, label, {**old, **args} if old else args)


def progress(label: str = "progress") -> None:
    """Mark that the program made progress; a cycle containing a progress mark is no livelock."""
    runner = current_runner()
    runner.last_progress = runner.step
    runner.trace.note(runner.step, runner.active, "progress", {"what": label})
