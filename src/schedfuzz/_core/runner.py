"""Runner: the run loop that drives actors one step at a time.

Hub and spoke: the runner's greenlet (the *hub*) switches into one actor; the actor runs until its
next trap and switches back to the hub, never to another actor. At every scheduling point::

    enabled = live actors that are RUNNABLE (predicate-blocked ones re-checked first)
    none enabled  -> finished (all DONE) or stuck (detect.classify_stuck)
    one enabled   -> run it, no decision recorded
    several       -> d = oracle.choose_actor(n), recorded; 0 = default policy, k = k-th other
    chosen actor waits in ``choose(options)`` -> v = oracle.choose_value(len(options)), recorded
    switch into the chosen actor, record the trace row, check invariants

The default policy keeps the current actor unless it blocked, finished, yielded or ran
``fair_quantum`` steps in a row while others were enabled; then it moves to the next enabled actor
after it in spawn order. That policy is fair, so a run that follows it for ``max_steps`` without
finishing ends in a ``StepBound`` (a bound: evidence of a livelock, not a proof), and a repeated
state found by the lasso detector is proof of one.

Determinism: actors live in a list in spawn order, ids come from a counter, no set of actors is
ever iterated and no ``id()`` decides an order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from greenlet import GreenletExit, getcurrent, greenlet

from schedfuzz._core import detect, endless, traps
from schedfuzz._core.actor import Actor, ActorState
from schedfuzz._core.fingerprint import (
    LassoDetector,
    actor_outline,
    actor_position,
    inexact_in,
    position_only,
)
from schedfuzz._core.freeze import Memo, freeze
from schedfuzz._core.oracle import DefaultOracle, Oracle, check_oracle
from schedfuzz._core.trace import Trace
from schedfuzz._core.watchdog import RunawayInterrupt, watch
from schedfuzz.errors import (
    InvalidArgument,
    NotInActor,
    SchedfuzzInternalError,
    ScheduleFailure,
)
from schedfuzz.settings import Settings

__all__ = ["RunResult", "Runner"]

RUNNABLE = ActorState.RUNNABLE

# A state of more than this many objects (a long linked list being walked, say) doubles the
# interval between the lasso check's fingerprints, up to SPARSEST steps: each costs as much as
# thousands of steps, and a cycle of L steps is still found within L times the interval, since
# the sampled steps come round to every position of the cycle. Counted in objects, not seconds,
# so the same run samples the same steps on any machine. (A settled lasso's replay, at an
# interval of 1, keeps it.)
BIG_STATE = 500
SPARSEST = 256
INEXACT_KEPT = 5  # descriptions of uncomparable values a run keeps: enough to name the fix


def _by_aid(actor: Actor) -> int:
    return actor.aid


@attrs.define(eq=False)
class RunResult:
    """What one run produced.

    Attributes:
        error: the verdict (a ``ScheduleFailure``), an actor's own exception, or None.
        kind: ``"ok"``, ``"failure"``, ``"deadlock"``, ``"hang"``, ``"missed_wakeup"``,
            ``"livelock"`` or ``"step_bound"``.
        decisions / widths: the answer and the number of enabled actors at each choice point.
        values: ``(step, index)`` of each value a ``choose`` took (the index is a decision too).
        lasso: for a proved livelock, ``(first_step, end_step, first_decision, end_decision)``.
        inexact: values the run's fingerprints met that they cannot compare by content, with
            where (``Runner.inexact``): its states were never taken for equal to others.
    """

    kind: str
    error: BaseException | None
    trace: Trace
    decisions: list[int]
    widths: list[int]
    preemptions: int
    steps: int
    actor: str | None = None
    lasso: tuple[int, int, int, int] | None = None
    values: list[tuple[int, int]] = attrs.field(factory=list)
    inexact: tuple[str, ...] = ()


class _LassoWatch:
    """The lasso check of one run past ``Settings.lasso_after``: a fingerprint every
    ``lasso_every`` steps (sparser for a big state, see ``BIG_STATE``), and the detector they
    feed with every step's enabled actors."""

    __slots__ = ("detector", "every", "next_at", "runner")

    def __init__(self, runner: Runner, step: int) -> None:
        self.runner = runner
        self.detector = LassoDetector(step, runner.snapshot)
        self.every = runner.settings.lasso_every
        self.next_at = step

    def sample(self, step: int) -> Any:
        """The state's fingerprint if ``step`` is sampled, else None."""
        if step < self.next_at:
            return None
        runner = self.runner
        fingerprint = runner.fingerprint()
        if runner.fingerprint_objects > BIG_STATE and 1 < self.every < SPARSEST:
            self.every *= 2  # see BIG_STATE
        self.next_at = step + self.every
        return fingerprint

    def observe(self, step: int, fingerprint: Any, runnable: list[Actor], ran: Actor,
                decisions: int) -> tuple[int, int] | None:
        """Record ``step`` (``ran`` took it); the ``(first, end)`` steps of a lasso, if one
        closed."""
        mask = 0
        for a in runnable:
            mask |= 1 << a.aid
        return self.detector.observe(step, fingerprint, mask, 1 << ran.aid, decisions,
                                     self.runner.last_progress)


def _actor_body(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                message: object) -> object:
    """The bottom frame of every actor's greenlet: run the spawned function."""
    if message is not traps.RESUME:
        msg = f"actor started with {message!r}; please file a bug"
        raise SchedfuzzInternalError(msg)
    return fn(*args, **kwargs)


# Its locals are the function and arguments the actor was spawned with, which the function's
# own frame holds as its locals: freezing them again at every fingerprint would only cost.
position_only(_actor_body.__code__)


class Runner:
    """One run of a scenario under one oracle. Use ``run()``; a Runner is not reusable."""

    def __init__(self, setup: Callable[..., Any], params: dict[str, Any] | None = None,
                 oracle: Oracle | None = None, settings: Settings | None = None) -> None:
        self.setup = setup
        self.params = params or {}
        self.oracle: Oracle = check_oracle(oracle) if oracle is not None else DefaultOracle()
        self.settings = settings or Settings()
        self.actors: list[Actor] = []  # every actor ever spawned, in spawn order
        self.live: list[Actor] = []  # not DONE, in spawn order
        self.predicate_blocked: list[Actor] = []
        self.current: Actor | None = None  # the actor that ran last
        self.active: Actor | None = None  # the actor executing right now (None in the hub)
        self.hub: greenlet = getcurrent()
        self.step = 0
        self.consecutive = 0
        self.preemptions = 0
        self.last_progress = -1
        self.decisions: list[int] = []
        self.widths: list[int] = []
        self.trace = Trace()
        self.snapshot: Callable[[], Any] | None = None
        self.invariants: list[Callable[[], Any]] = []
        self._paused_invariants: list[Callable[[], Any]] = []
        self.finals: list[Callable[[], Any]] = []
        self.runaway = False  # the watchdog has raised RunawayInterrupt in the running actor
        self.stuck = False  # ... which never landed, so it sent a SIGINT instead
        # The scenario's own code running in the hub (the scenario function, an invariant, an
        # end check, the snapshot, a wait predicate), for the watchdog, and what it is.
        self.outside: Callable[..., Any] | None = None
        self.outside_kind = ""
        self.lasso: tuple[int, int, int, int] | None = None
        self.culprit: str | None = None  # the actor whose exception or step failed the run
        self.dirty = True  # the runnable set changed since the last step
        self.keep = False  # at the current choice point: does answer 0 keep the current actor?
        self.runnable: list[Actor] = []  # at the current choice point, in spawn order
        self.values: list[tuple[int, int]] = []  # (step, index) of every ``choose`` decided
        # Values the fingerprints met that they cannot compare (``fingerprint.Inexact``), with
        # where: a few, each once. Not empty: some state of this run equals no other.
        self.inexact: list[str] = []
        self._inexact_kinds: set[str] = set()  # what was described already (membership only)
        # Whether the last fingerprint (``fingerprint``) holds an ``Inexact``: a search that
        # keys states by hash cannot tell from the key (a freed token's identity is reused).
        self.fingerprint_inexact = False
        self.fingerprint_objects = 0  # mutable objects the last fingerprint froze
        # Called after teardown, last registered first, however the run ended (a threaded
        # run's patches are undone here).
        self.cleanups: list[Callable[[], None]] = []
        # Actors the run does not wait for (daemon threads): once only they are live, it ends.
        self.background: Callable[[Actor], bool] | None = None

    def __schedfuzz_state__(self) -> object:
        return ()  # frames of traps hold the runner; its own state is fingerprinted explicitly

    # -- called by the scenario (through schedfuzz.spawn & co.) ---------------------------------

    def spawn(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
              name: str | None) -> Actor:
        if not callable(fn):
            msg = f"spawn() needs a callable, got {fn!r}"
            raise InvalidArgument(msg)
        aid = len(self.actors)
        name = name or f"{getattr(fn, '__name__', 'actor')}-{aid}"

        g = greenlet(functools.partial(_actor_body, fn, args, kwargs), parent=self.hub)
        actor = Actor(aid, name, g, hub_switch=self.hub.switch, resume=g.switch)
        g.actor = actor  # checkpoint() finds its actor through the current greenlet
        self.actors.append(actor)
        self.live.append(actor)
        self.dirty = True
        self.trace.names.append(name)
        return actor

    # -- the run loop ---------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Set up the scenario, run it to a verdict, tear every actor down."""
        if traps.LOCAL.runner is not None:
            msg = "schedfuzz runs cannot be nested: an actor or scenario started another run"
            raise NotInActor(msg)
        self.hub = getcurrent()
        traps.LOCAL.runner = self
        watch(self, True)
        error: BaseException | None = None
        try:
            self.oracle.new_run(self)
            self.outside, self.outside_kind = self.setup, "scenario function"
            self.setup(**self.params)
            self.outside = None
            if not self.actors:
                msg = f"scenario {getattr(self.setup, '__name__', self.setup)!r} spawned no actor"
                raise InvalidArgument(msg)
            error = self._loop()
        except RunawayInterrupt as exc:
            # In a callback outside actors; else it landed in the hub by a hair: blame the
            # last actor.
            error = (endless.runaway_outside(self, exc) if self.outside is not None
                     else endless.runaway(self, self.current, None))
        except KeyboardInterrupt as exc:
            if not (self.stuck and self.outside is not None):
                raise  # the user's Ctrl-C
            error = endless.runaway_outside(self, exc)  # the watchdog's, into a blocking call
        finally:
            self._teardown()
            self.oracle.end_run()
            watch(self, False)
            traps.LOCAL.runner = None
            for cleanup in reversed(self.cleanups):
                cleanup()
        kind = "ok" if error is None else getattr(error, "kind", "failure")
        if isinstance(error, ScheduleFailure):
            error.trace = self.trace
        return RunResult(kind, error, self.trace, self.decisions, self.widths, self.preemptions,
                         self.step, self.culprit, self.lasso, self.values, tuple(self.inexact))

    def _loop(self) -> BaseException | None:
        # The hot path: everything per step lives in locals. The rare paths (spurious wake-ups,
        # the step bound and the lasso check past `slow_at`, an actor that raised or returned)
        # are methods behind one test each, so a plain step pays for none of them.
        settings = self.settings
        rows_append = self.trace.rows.append
        live = self.live
        quantum = settings.fair_quantum
        max_steps = settings.max_steps
        slow_at = min(settings.lasso_after if settings.detect_livelock else max_steps, max_steps)
        lasso: _LassoWatch | None = None
        choose = self.oracle.choose_actor
        decisions = self.decisions
        widths = self.widths
        invariants = self.invariants
        spurious = settings.spurious_wakeups
        trap, resume = traps.TRAP, traps.RESUME
        runnable_state = RUNNABLE
        blocked_append = self.trace.blocked.append
        step = self.step
        base: list[Actor] = []
        consecutive = 0
        cur: Actor | None = None
        while True:
            if self.predicate_blocked:
                self._recheck_predicates()
            if self.dirty:  # only park, unpark, spawn and exit change who is runnable
                base = [a for a in live if a.state is RUNNABLE]
                self.dirty = False
            runnable = base
            n = len(runnable)
            if not n:
                return detect.classify_stuck(self) if live else self._finish()
            if spurious:
                runnable = self._with_sleepers(runnable)
                n = len(runnable)
            fingerprint = None
            if step >= slow_at:
                if step >= max_steps:
                    return endless.step_bound(self)
                if lasso is None:
                    lasso = _LassoWatch(self, step)
                self.consecutive = consecutive
                fingerprint = lasso.sample(step)
            if n == 1:
                nxt = runnable[0]
            else:
                keep = (cur is not None and cur.state is RUNNABLE and not cur.yielded
                        and consecutive < quantum)
                # What the oracle's RunView shows of this choice point.
                self.keep = keep
                self.runnable = runnable
                self.consecutive = consecutive
                d = choose(n)
                decisions.append(d)
                widths.append(n)
                # Choice order: the current actor first if kept, then the others in spawn order
                # starting after it (a rotation); runnable[(i + j) % n] is the j-th of those.
                if keep:
                    if d == 0:
                        nxt = cur  # type: ignore[assignment]
                    else:
                        i = runnable.index(cur) + 1  # type: ignore[arg-type]
                        nxt = runnable[(i + d - 1) % n]
                        self.preemptions += 1
                else:
                    i = 0
                    if cur is not None:
                        aid = cur.aid
                        while i < n and runnable[i].aid <= aid:
                            i += 1
                    nxt = runnable[(i + d) % n]
            # consecutive counts steps taken while others were enabled (the fair quantum).
            if nxt is cur:
                if n > 1:
                    consecutive += 1
            else:
                consecutive = 1 if n > 1 else 0
                self.current = cur = nxt
            if lasso is not None:
                found = lasso.observe(step, fingerprint, runnable, nxt, len(decisions) - (n > 1))
                if found is not None:
                    if n > 1 and keep and d:  # the closing step's choice is not part of it
                        self.preemptions -= 1
                    return endless.lasso(self, lasso.detector, found)
            if spurious and nxt.block is not None:  # chosen while asleep: a spurious wake-up
                self.trace.note(step, nxt, "spurious wake-up", None)
                traps.unpark(nxt)
            if nxt.options is not None:  # a data choice (schedfuzz.choose): the oracle picks
                self.consecutive = consecutive
                self._choose_value(nxt, nxt.options)
            rows_append((nxt.aid, nxt.label, nxt.args))
            self.active = nxt
            try:
                message = nxt.resume(resume)
            except BaseException as exc:
                return self._raised(nxt, step, exc)
            self.active = None
            if nxt.state is not runnable_state:
                blocked_append(step)
            step += 1
            self.step = step
            if message is not trap:
                self._returned(nxt, message)
            if invariants:
                error = self._check(invariants, nxt)
                if error is not None:
                    self.culprit = nxt.name
                    return error

    def _with_sleepers(self, runnable: list[Actor]) -> list[Actor]:
        """With ``Settings.spurious_wakeups``: sleepers in primitives that allow spurious
        wake-ups are candidates too, but only while someone can really run (the caller checked):
        a run where only they could move is stuck."""
        sleepers = [a for a in self.live if a.block is not None and a.block.spurious]
        return sorted(runnable + sleepers, key=_by_aid) if sleepers else runnable

    def _raised(self, actor: Actor, step: int, exc: BaseException) -> BaseException:
        """``actor``'s step raised ``exc``: the run's verdict, or the user's Ctrl-C raised on."""
        self.active = None
        if isinstance(exc, RunawayInterrupt):
            self.step = step + 1
            return endless.runaway(self, actor, exc)
        if isinstance(exc, KeyboardInterrupt):
            if not self.stuck:  # the user's Ctrl-C, landed in an actor: not the actor's failure
                raise exc
            self.step = step + 1  # the watchdog's SIGINT, into a call that never came back
            return endless.runaway(self, actor, exc)
        self.step = step + 1
        self.culprit = actor.name
        self._retire(actor)
        actor.error = exc
        return exc

    def _returned(self, actor: Actor, message: object) -> None:
        """``actor`` switched to the hub without trapping: its function returned ``message``."""
        if not actor.greenlet.dead:
            msg = f"actor {actor.name!r} switched to the hub with {message!r}"
            raise SchedfuzzInternalError(msg)
        actor.result = message
        self._retire(actor)

    def replaying(self, on: bool) -> None:
        """Skip (``on``) or resume the per-step invariants: for an engine replaying a prefix that
        an earlier run took step by step and checked. Runs are deterministic, so the same steps
        pass the same checks; leaving them out only saves time. The list is emptied in place
        because the run loop holds it in a local."""
        if on:
            if self.invariants:
                self._paused_invariants = self.invariants[:]
                self.invariants.clear()
        elif self._paused_invariants:
            self.invariants.extend(self._paused_invariants)
            self._paused_invariants = []

    def choice_order(self) -> list[Actor]:
        """The enabled actors in the order the oracle's answer indexes, at the current choice
        point: the current actor first if the default keeps it, then the others in spawn order
        starting after it. Oracles that think in actors (PCT, scripted tests) call this."""
        runnable, cur = self.runnable, self.current
        if cur is None:
            return list(runnable)
        n = len(runnable)
        i = 0
        while i < n and runnable[i].aid <= cur.aid:
            i += 1
        rotated = [runnable[(i + j) % n] for j in range(n)]
        if self.keep:
            rotated.remove(cur)
            return [cur, *rotated]
        return rotated

    def _choose_value(self, actor: Actor, options: Sequence[Any]) -> None:
        """Ask the oracle which of ``options`` the actor's ``choose`` returns: a decision
        recorded like any other."""
        k = len(options)
        value = 0
        if k > 1:
            value = self.oracle.choose_value(k) % k
            self.decisions.append(value)
            self.widths.append(k)
            self.values.append((self.step, value))
        actor.chosen = value
        actor.args = {"value": options[value]}

    def _recheck_predicates(self) -> None:
        still = []
        self.outside_kind = "wait predicate"
        for actor in self.predicate_blocked:
            block = actor.block
            if block is None or block.until is None:
                continue
            self.outside = block.until
            if block.until():
                traps.unpark(actor)
            else:
                still.append(actor)
        self.outside = None
        self.predicate_blocked = still

    def _retire(self, actor: Actor) -> None:
        actor.state = ActorState.DONE
        actor.block = None
        self.live.remove(actor)
        self.dirty = True
        background = self.background
        if background is not None and self.live and all(map(background, self.live)):
            # Only actors the run does not wait for are left (daemon threads once the
            # others have ended): the run is over, as a program ends with its last
            # non-daemon thread. Teardown ends their greenlets.
            for other in self.live:
                other.state = ActorState.DONE
                other.block = None
            self.live.clear()

    def fingerprint(self) -> Any:
        memo = Memo()
        snap = freeze(self._snapshot(), memo) if self.snapshot is not None else None
        if memo.met:
            code = getattr(self.snapshot, "__code__", None)
            where = (f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}"
                     if code is not None else repr(self.snapshot))
            self._met_inexact(memo, 0, lambda: [f"{t.what} in snapshot() at {where}"
                                                for t in memo.met])

        def position(actor: Actor) -> Any:
            before = len(memo.met)
            image = actor_position(actor, memo)
            if len(memo.met) != before:
                self._met_inexact(memo, before, lambda: inexact_in(actor, Memo()))
            return image

        state = self._state(snap, position)
        self.fingerprint_inexact = bool(memo.met)
        self.fingerprint_objects = len(memo)
        return state

    def _met_inexact(self, memo: Memo, since: int, where: Callable[[], list[str]]) -> None:
        """Record that this fingerprint met values it cannot compare (``memo.met[since:]``),
        with where they are (``where()``, slow: only for a kind not described before)."""
        kinds = self._inexact_kinds
        new = [t.what for t in memo.met[since:] if t.what not in kinds]
        if not new and self.inexact:
            return
        kinds.update(new)
        found = where() or [f"{what} (place not found)" for what in new]
        for what in found:
            if what not in self.inexact and len(self.inexact) < INEXACT_KEPT:
                self.inexact.append(what)

    def outline(self) -> Any:
        """``outline_of(self.fingerprint())``, without freezing any frame's values."""
        snap = freeze(self._snapshot(), Memo()) if self.snapshot is not None else None
        return self._state(snap, actor_outline)

    def _snapshot(self) -> Any:
        """Call the scenario's ``snapshot()`` callback, watched like an actor; an exception it
        raises says it came from there (it is the scenario's bug, not a schedule's)."""
        fn = self.snapshot
        assert fn is not None  # internal: callers check
        self.outside, self.outside_kind = fn, "snapshot()"
        try:
            value = fn()
        except Exception as exc:
            self.outside = None
            exc.add_note(f"raised in the scenario's snapshot() callback, at "
                         f"{endless.innermost(exc.__traceback__)}, at step {self.step}")
            raise
        self.outside = None
        return value

    def outside_name(self) -> str:
        """The callback outside actors that is running, in words ("invariant check_sum")."""
        if self.outside_kind == "snapshot()":
            return "the scenario's snapshot()"
        name = getattr(self.outside, "__name__", None) or repr(self.outside)
        return f"{self.outside_kind} {name}"

    def _state(self, snap: Any, position: Callable[[Actor], Any]) -> Any:
        cur = self.current
        actors = tuple((a.aid, a.state.value, a.yielded, a.signal_pending, position(a))
                       for a in self.live)
        # Counts at or past the quantum behave alike: do not let them split one state into many.
        consecutive = min(self.consecutive, self.settings.fair_quantum)
        return (-1 if cur is None else cur.aid, consecutive, snap, actors)

    def _check(self, checks: list[Callable[[], Any]], actor: Actor | None) -> BaseException | None:
        """Run invariants (after ``actor``'s step) or end checks (``actor`` is None)."""
        self.outside_kind = "end check" if actor is None else "invariant"
        for check in checks:
            self.outside = check
            try:
                check()
            except Exception as exc:
                self.outside = None
                name = getattr(check, "__name__", repr(check))
                if actor is None:
                    exc.add_note(f"end check {name} failed once every actor had finished "
                                 f"(after step {self.step - 1})")
                else:
                    exc.add_note(f"invariant {name} failed after step {self.step - 1} "
                                 f"({actor.name})")
                return exc
        self.outside = None
        return None

    def _finish(self) -> BaseException | None:
        return self._check(self.finals, None) if self.finals else None

    def _teardown(self) -> None:
        """Throw GreenletExit into every unfinished actor so no greenlet outlives the run."""
        for actor in self.actors:
            g = actor.greenlet
            for _ in range(3):
                if g.dead:
                    break
                self.active = actor
                try:
                    g.throw(GreenletExit)
                except GreenletExit:
                    pass
                except BaseException:  # an actor that raises while unwinding: already reported
                    pass
                finally:
                    self.active = None
            actor.state = ActorState.DONE
        self.live.clear()
        self.predicate_blocked.clear()

