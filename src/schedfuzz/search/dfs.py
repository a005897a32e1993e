"""The exhaustive search: bounded, fewest preemptions first, with state caching.

Iterative preemption bounding (CHESS): level K runs every schedule that costs exactly K, so the
first failure found costs the fewest preemptions any failure needs, and a level that finishes
clean proves "no failure with at most K preemptions". Most real bugs need at most 2 (SCTBench,
CHESS), so a few levels are worth a lot.

*Cost* is the number of preemptions (a departure while the current actor could go on), plus one
each time a yielding or quantum-expired actor is run again before the others: staying is what the
fair default policy refuses, so it is priced like a preemption. That keeps every level finite for
spin-waits and makes the default policy's own run the only schedule of cost 0 at each branch.

Runs replay decision lists, CHESS-style: a schedule is a decision list, and a run replays a
*prefix*, then answers 0 at every new choice point while recording the alternatives there. Free
alternatives go on the stack of this level (depth first); ones that cost one more go to the next
level's list, so no schedule is run twice across levels.

The search is stateful by default (``stateful=False`` turns it off): each new choice point's
fingerprint is looked up; a state seen before is not explored again (the run is abandoned by
raising from ``choose``). A state first reached at level K is reached at no lower cost later, so
pruning loses nothing. The explored states and edges form a graph (``stategraph.py``) in which
livelocks are found as fair, progress-free cycles; when the levels run out of work the whole
state space has been checked: "verified: complete state space".

Why stateful by default: a bounded search must find every livelock whose stem plus one turn
costs at most the bound, or say that it did not look. A run that goes round a livelock's cycle
under a preemption bound soon runs out of preemptions, and the fair default policy then leaves
the cycle, so no run of a stateless search ever repeats a state long enough for the run loop's
own lasso check (which starts at ``Settings.lasso_after`` steps) to see it: the polite back-off
livelock without a snapshot needs 3 preemptions, and a stateless search to a bound of 6 never
sees it. The state graph closes the cycle the first time a run comes back to a state it has
kept. The fingerprint holds every actor's frames (locals and value stacks), what they reach,
and the snapshot, so a scenario needs no snapshot for this, and the cost is small where it was
measured: pruning usually saves more runs than fingerprinting costs (``demo.spin-wait`` at 3
preemptions: 204 runs instead of 8,976; the ``thp`` scenarios declare a snapshot and were
stateful already).

A stateless search (``stateful=False``) proves only "no failure with at most K preemptions":
its report says livelocks were not checked, unless every schedule ran to its end (then none can
loop forever).

Values the fingerprint cannot compare by content (``fingerprint.Inexact``) make a state that
equals no other. Its hash cannot show that (an identity hash is reused once the token is
freed), so the search keeps such a state without a key (``Runner.fingerprint_inexact`` tells
it): it is never found again, never prunes a run and never closes a cycle. Its subtrees are
still all run, so the bound's proof of no failure holds, but the search records what it met
(``inexact``, from ``Runner.inexact``) and claims neither a complete state space nor the absence
of livelocks (``livelocks_checked`` is False).

On a bound's last level most choice points are *forced*: every answer but 0 would pass the
bound. Such a state is looked up but not kept (``KEEP_EVERY``): it cannot branch, so nothing
would ever be queued from it, and the edge from the last kept state runs on through it (its
``forced`` count says how many zeros it stands for). Most forced states are new, and a state's
*outline* (snapshot, policy state, each frame's code and offset, no locals) tells so at a
fraction of a fingerprint's cost: the graph keeps the kept states' outline hashes, and a forced
state whose outline is not among them is not looked up further. A proof then keeps some 5 to 9
times fewer states, and takes less time, not more.

The subtrees still to run are kept as a tree of branching points and ``(node, answer)`` pairs
(``dfs_pending.py``), ten bytes each instead of a decision list.

A livelock's cost is that of its stem plus one turn of its cycle, and a cycle found after level
K may cost more than K: its edges were each reached within K, but not all on one schedule. So
the search reports the graph's cheapest lasso only once the levels explored cover its cost
(every state and edge that costs at most that much has been seen, so none is cheaper), and goes
on to higher levels until they do or the budget ends (then the note says how far it is proved).
A level K explored to its end with no lasso in the graph proves "no failure with at most K
preemptions and no livelock within that bound": a livelock whose stem and one turn cost at most
K has a run that follows the stem and goes round the cycle back to a kept state of it (a state
where the bound still leaves a choice is kept, and a cycle of forced ones keeps one state in
``KEEP_EVERY`` while the default policy goes round it again for free), and that run's lookup
closes the cycle in the graph.

Soundness rests on the fingerprint seeing all state that matters: the snapshot plus every actor's
frames, value stacks included (``_core/framestack.py``), and what they reach. Shared state that
none of these shows makes pruning unsound, and so does a stack that cannot be read (outside
CPython 3.11 to 3.13).

A long search can stop and go on in another process (``Budget.checkpoint``: the levels, the
subtrees still to run and the state graph are saved between two runs, ``checkpoint.py``).
What the report says is worded in ``dfs_report.py``.

The report (the methods after ``explore``) sets the typed proof (``verdict.conclude``) and words
it in one note. What may be claimed (``DfsSearch.proved`` decides):

* ``complete``: the levels ran out of work. A stateless search then ran every schedule to its
  end (so none loops forever: no livelock either); a stateful one explored every state, which
  it may claim only if every state was compared by content: a run that met an ``Inexact``
  value leaves a ``bounded`` proof at the last level, with livelocks unchecked.
* ``bounded``: every schedule with at most K preemptions has no failure. That needs no state
  identity. It covers livelocks only when a stateful search looked for fair cycles in its graph
  of exactly compared states: a livelock can need more preemptions than any bound (one per
  round), and a stateless run soon runs out of them and leaves the cycle.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from schedfuzz._core import clock
from schedfuzz._core.oracle import RunView
from schedfuzz._core.runner import Runner, RunResult
from schedfuzz.budget import PROGRESS, Budget
from schedfuzz.execute import Outcome, run
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.schedule import Schedule
from schedfuzz.search import checkpoint as dfs_checkpoint
from schedfuzz.search.oracle import DfsOracle, Prune
from schedfuzz.search.pending import ROOT, Pending
from schedfuzz.search.state import SearchState
from schedfuzz.search.stategraph import Lasso, StateGraph
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report, conclude

__all__ = ["DfsSearch", "search"]

SAVE_SHARE = 20  # the next save comes at least this many times the last one's time after it
INEXACT_KEPT = 5  # descriptions of uncomparable values a search keeps for its report


class DfsSearch:
    """One exhaustive search; ``explore()`` runs it and returns the report."""

    def __init__(self, info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                 budget: Budget, stateful: bool | None = None,
                 max_preemptions: int | None = None, by_deviation: bool = False,
                 accept: Callable[[RunResult], bool] | None = None,
                 partition: tuple[int, int] | None = None, stop: Any = None,
                 halt: Any = None) -> None:
        self.info = info
        self.params = params
        self.settings = settings
        self.budget = budget
        self.max_preemptions = max_preemptions
        self.by_deviation = by_deviation
        self.accept = accept
        # What a checkpoint saves. Its states must be found again by another process: stable
        # hashes then.
        self.state = SearchState(StateGraph(stable=budget.checkpoint is not None),
                                 stateful=True if stateful is None else stateful)
        self.stopped_by_budget = False
        self.stopped_by = ""  # why ``explore`` ended: ``Report.stopped_by``
        self.complete = False  # every schedule explored: no level left, none past the bound
        self.stop_asked = ""  # the signal that asked a checkpointed search to save and stop
        # Worker ``w`` of ``n`` (``workers``) explores every n-th subtree of the first run,
        # and stops at a level above the cheapest failure any worker found (``stop.value``).
        self.partition = partition
        self.stop = stop
        self.halt = halt  # a worker's: set by its parent when a signal asks the search to stop
        self.root_alternatives = 0
        self.quantum = settings.fair_quantum
        # A stateful run stops at the first state seen before, so the run loop's own lasso check
        # only matters for a cycle without choice points (one actor spinning alone): looking
        # from step 0 on every step, as a scenario may ask for its replays, would only cost.
        self.run_settings = attrs.evolve(settings, lasso_after=max(settings.lasso_after, 200),
                                         lasso_every=max(settings.lasso_every, 4))

    def fingerprint(self, runner: RunView, consecutive: int, data: bool) -> object:
        """The runner's state fingerprint with the policy's run count filled in and capped at
        the quantum, past which it changes nothing; ``data``: asked for a value."""
        return self._counted(runner.fingerprint(), consecutive, data)

    def outline(self, runner: RunView, consecutive: int, data: bool) -> object:
        """The outline (``outline_of``) of the state ``fingerprint`` would give, for less."""
        return self._counted(runner.outline(), consecutive, data)

    def _counted(self, state: Any, consecutive: int, data: bool) -> object:
        count = min(consecutive, self.quantum)
        # At a data choice an actor has been picked and waits for its value: not the
        # scheduling point before it, so its count is kept apart (negative).
        return (state[0], -1 - count if data else count, state[2], state[3])

    @property
    def livelocks_checked(self) -> bool:
        """Whether the search looks for every livelock within what it explores: stateful,
        every state it kept comparable, and not told to stop looking (``accept``)."""
        return bool(self.state.stateful) and self.state.check_livelocks and not self.state.inexact

    def proved(self) -> tuple[str, int | None]:
        """What a search that ends without a failure proved, as ``(proof, bound)``: "complete"
        (no failure and no livelock in the whole state space: every state compared exactly,
        or every schedule run to its end), "bounded" with the highest level explored to its
        end (every schedule with at most that many preemptions; ``livelocks_checked`` says
        whether livelocks were looked for as well) or "none"."""
        if self.complete and (self.livelocks_checked or self.all_ended):
            return "complete", None
        if self.state.verified >= 0:
            return "bounded", self.state.verified
        return "none", None

    @property
    def all_ended(self) -> bool:
        """Whether every run of a stateless search ended (none turned down by ``accept``):
        if it explored every schedule, no execution runs forever."""
        return not self.state.stateful and not self.state.rejected

    def met_inexact(self, found: Sequence[str]) -> None:
        """Record values a run met that the fingerprint cannot compare (a few are enough to
        name the fix)."""
        for what in found:
            if what not in self.state.inexact and len(self.state.inexact) < INEXACT_KEPT:
                self.state.inexact.append(what)

    def _ask_stop(self, signal_name: str) -> None:
        self.stop_asked = signal_name

    def mine(self) -> bool:
        """Is the next alternative of the first run this worker's (round robin)?"""
        if self.partition is None:
            return True
        worker, workers = self.partition
        index = self.root_alternatives
        self.root_alternatives = index + 1
        return index % workers == worker

    def branch(self, node: int, alt: int, cost: int) -> None:
        """Queue the subtree ``(node, alt)``, which costs ``cost``: on this level or the next."""
        if cost <= self.state.level:
            self.state.stack.push(node, alt)
        elif self.max_preemptions is not None and cost > self.max_preemptions:
            self.state.beyond_bound += 1  # never run, so not kept
        else:
            self.state.next_level.push(node, alt)

    def run_item(self, node: int, alt: int) -> RunResult | None:
        self.state.runs += 1
        PROGRESS.update(level=self.state.level, runs=self.state.runs)
        if self.state.stateful:
            PROGRESS["states"] = len(self.state.graph)
        try:
            settings = self.run_settings if self.state.stateful else self.settings
            result = Runner(self.info.fn, self.params, DfsOracle(self, node, alt),
                            settings).run()
        except Prune:
            self.state.pruned += 1
            return None
        # Met by the run loop's own lasso check past ``lasso_after`` (the oracle records what
        # its lookups meet): a cycle without choice points there is not proved absent either.
        self.met_inexact(getattr(result, "inexact", ()))
        return result

    def explore(self) -> Report:
        """Run the search; with ``budget.checkpoint``, resume it from the file if there is one,
        save it there until it finishes, and remove the file when it does."""
        started = time.perf_counter()
        path = self.budget.checkpoint
        before = None if path is None else dfs_checkpoint.restore(self, path)
        if before is None:
            self.state.stack.push(ROOT, 0)
        resumed_runs = self.state.runs
        self.stopped_by_budget = False
        self.stopped_by = ""
        if path is None:
            return self._explore(started, before or 0.0, resumed_runs)
        with contextlib.nullcontext() if self.partition is not None else \
                dfs_checkpoint.stop_signals(self._ask_stop):
            report = self._explore(started, before or 0.0, resumed_runs)
        notes = [report.note] if report.note else []
        if before is not None:  # the counts are the whole search's, and so is the time
            if self.partition is None:  # a worker's parent says it for all of them
                notes.insert(0, f"resumed from {path} ({resumed_runs} runs, "
                                f"{before:.0f}s before)")
            report.stats["resumed_runs"] = resumed_runs
            report.resumed_seconds = before
            report.seconds += before
        if self.stopped_by_budget or self.partition is not None:
            # A worker saves its share even when done: the others may not be, and the next
            # run must not do it again. The parent removes the files once all are.
            dfs_checkpoint.save(self, path, (before or 0.0) + time.perf_counter() - started)
            if self.partition is None:
                why = f"stopped by {self.stop_asked}" if self.stop_asked else "unfinished"
                notes.append(f"{why}: saved in {path}, run again to go on")
        else:
            dfs_checkpoint.remove(path)
        report.note = "; ".join(notes)
        return report

    def _explore(self, started: float, before: float, resumed_runs: int) -> Report:
        budget = self.budget
        deadline = budget.search_ends_at(clock.now())
        path = budget.checkpoint
        save_at = started + budget.checkpoint_every
        report = Report(self.info, dict(self.params), "dfs")
        while True:
            while self.state.stack:
                if self.stop is not None and self.state.level > self.stop.value:
                    self.stopped_by = "failure"  # another worker's, and a cheaper one
                    return self._finish(report, started)
                now = time.perf_counter()
                if self.state.runs - resumed_runs >= budget.max_schedules:
                    self.stopped_by = "max_schedules"
                elif self.stop_asked or (self.halt is not None and self.halt.value):
                    self.stopped_by = "interrupted"
                elif deadline is not None and clock.now() >= deadline:
                    self.stopped_by = "seconds"
                if self.stopped_by:
                    self.stopped_by_budget = True
                    if self.state.lasso is not None:
                        return self._livelock(report, self.state.lasso, started) or \
                            self._finish(report, started)
                    return self._finish(report, started)
                if path is not None and now >= save_at:  # between two runs: a consistent state
                    dfs_checkpoint.save(self, path, before + now - started)
                    done = time.perf_counter()
                    # A big graph takes seconds to save: spend at most a twentieth of the time.
                    save_at = done + max(budget.checkpoint_every, SAVE_SHARE * (done - now))
                result = self.run_item(*self.state.stack.pop())
                if result is not None and result.error is not None:
                    if self.accept is None or self.accept(result):
                        self._found(self.state.level)
                        return self._failed(report, result, started)
                    self.state.rejected += 1
            if self.state.stateful and self.state.check_livelocks:
                cheapest = self.state.graph.cheapest_lasso()
                lasso = self.state.lasso
                if cheapest is not None and (lasso is None or cheapest.cost < lasso.cost):
                    self.state.lasso = cheapest
            self.state.verified = self.state.level
            # A livelock whose stem and one turn cost more than this level may have a cheaper
            # one among the states a higher level reaches: go on until none can be cheaper.
            last = not self.state.next_level or (self.max_preemptions is not None
                                           and self.state.level >= self.max_preemptions)
            if self.state.lasso is not None and (self.state.lasso.cost <= self.state.level or last):
                found = self._livelock(report, self.state.lasso, started)
                if found is not None:
                    self._found(self.state.lasso.cost)
                    return found
                self.state.lasso = None
            if not self.state.next_level:
                self.complete = not self.state.beyond_bound
                self.stopped_by = "exhausted" if self.complete else "max_preemptions"
                return self._finish(report, started)
            if last:
                self.stopped_by = "max_preemptions"
                return self._finish(report, started)
            self.state.level += 1
            self.state.stack = self.state.next_level.reversed()  # first deferred is explored first
            self.state.next_level = Pending()

    def _found(self, cost: int) -> None:
        """Tell the other workers: nothing above ``cost`` is worth exploring any more."""
        if self.stop is not None:
            with self.stop.get_lock():
                self.stop.value = min(self.stop.value, cost)

    # -- the report: what the search proved, found, or where the budget stopped it --------

    def _stats(self, report: Report) -> None:
        state = self.state
        report.schedules = state.runs
        report.stats.update({"level": state.level, "runs": state.runs, "pruned": state.pruned,
                             "stateful": bool(state.stateful),
                             "states": len(state.graph), "edges": len(state.graph.edges),
                             "graph_bytes": state.graph.nbytes(),
                             "pending": len(state.stack) + len(state.next_level),
                             "pending_bytes": state.ways.nbytes() + state.stack.nbytes()
                             + state.next_level.nbytes()})

    def _finish(self, report: Report, started: float) -> Report:
        """The report of a search that found nothing: what it proved, in fields and words."""
        self._stats(report)
        proof, bound = self.proved()
        conclude(report, proof, self.stopped_by, bound=bound, inexact=self.state.inexact,
                 livelocks_checked=proof == "complete" or self.livelocks_checked)
        report.note = self._proof_note(report)
        report.stats["verified_preemptions"] = self.state.verified
        report.stats["max_preemptions"] = self.max_preemptions
        report.seconds = time.perf_counter() - started
        return report

    def _proof_note(self, report: Report) -> str:
        """``report``'s proof in words (``_finish``): the fields say it, this only words it."""
        states = f"{len(self.state.graph)} states, " if self.state.stateful else ""
        if report.proof == "complete" and self.state.stateful:
            note = (f"verified: complete state space, {len(self.state.graph)} states "
                    f"({self.state.runs} runs): no failure and no livelock")
        elif report.proof == "complete":
            note = (f"verified: all {self.state.runs} schedules explored, no failure (each ran "
                    "to its end, so none loops forever)")
        elif report.proof == "bounded":
            bound = report.proof_bound or 0
            # A livelock is within the bound when its stem and one turn are.
            livelocks = " and no livelock within that bound" if report.livelocks_checked else ""
            note = (f"verified: no failure with at most {bound} {self._unit(bound)}{livelocks} "
                    f"({states}{self.state.runs} runs)")
        else:
            return (f"not verified: the budget ran out at 0 {self._unit(0)} after "
                    f"{self.state.runs} runs")
        if report.inexact:
            note += ("; livelocks not checked and no state-space proof: the runs met values "
                     f"the fingerprint cannot compare ({'; '.join(report.inexact)}); give "
                     "snapshot() their content instead, or define __schedfuzz_state__ on "
                     "their class")
        elif not report.livelocks_checked:
            note += "; livelocks not checked (" + (
                "a stateless search: a livelock may need more preemptions than any bound"
                if not self.state.stateful else "not looked for in this search") + ")"
        return note

    def _unit(self, count: int) -> str:
        # Deviation bounding (any departure from the default policy costs one) proves less
        # than preemption bounding with the same K: say which one was proved.
        noun = ("deviation" if self.by_deviation else "preemption") + ("" if count == 1 else "s")
        return noun + (" from the default policy" if self.by_deviation else "")

    def _failed(self, report: Report, result: RunResult, started: float) -> Report:
        self._stats(report)
        cycle = result.lasso[2] if result.lasso is not None else None
        outcome = run(self.info, schedule=Schedule(_trim(result.decisions, cycle), cycle),
                      settings=self.settings, **self.params)
        report.first_failure = (self.state.runs, time.perf_counter() - started)
        report.outcome = outcome
        report.verdict = outcome.kind
        report.stats["min_preemptions"] = self.state.level
        report.note = (f"{result.kind} at cost {self.state.level}: every schedule with fewer "
                       f"preemptions was explored without failure")
        return conclude(report, "none", "failure", inexact=self.state.inexact)

    def _livelock(self, report: Report, lasso: Lasso, started: float) -> Report | None:
        """Report ``lasso`` after replaying it, or None (and stop looking for livelocks) if
        the replay is not a failure the caller accepts."""
        verified = self.state.verified
        schedule = Schedule((*lasso.stem, *lasso.cycle), len(lasso.stem))
        outcome: Outcome = run(self.info, schedule=schedule, settings=self.settings,
                               **self.params)
        if self.accept is not None and not self.accept(outcome.result):
            self.state.check_livelocks = False  # not what the caller looks for: stop looking
            return None
        self._stats(report)
        report.first_failure = (self.state.runs, time.perf_counter() - started)
        report.outcome = outcome
        report.verdict = outcome.kind
        confirmed = outcome.kind == "livelock" and outcome.result.lasso is not None
        unit = self._unit(lasso.cost)
        if lasso.cost <= verified:
            report.stats["min_preemptions"] = lasso.cost
            cost = (f"{lasso.cost} {unit} (stem and one turn; every state and edge reachable "
                    f"with at most {verified} was explored, so none is cheaper)")
        else:
            report.stats["verified_preemptions"] = verified
            cost = (f"{lasso.cost} {unit} (stem and one turn; a cheaper one is ruled out only "
                    f"below {verified + 1})")
        report.note = (f"livelock: a fair cycle without progress in the state graph "
                       f"({len(self.state.graph)} states) at {cost}"
                       + ("" if confirmed else "; its replay did NOT confirm the lasso "
                          f"(replay verdict: {outcome.kind}); hidden state?"))
        return conclude(report, "none", self.stopped_by or "failure", inexact=self.state.inexact)


def _trim(decisions: list[int], cycle_start: int | None) -> list[int]:
    if cycle_start is not None:
        return decisions
    end = len(decisions)
    while end and decisions[end - 1] == 0:
        end -= 1
    return decisions[:end]


def search(info: ScenarioInfo, params: dict[str, Any], settings: Settings, budget: Budget, *,
           stateful: bool | None = None, max_preemptions: int | None = None,
           by_deviation: bool = False,
           accept: Callable[[RunResult], bool] | None = None) -> Report:
    """Exhaustive search with options the registered engine leaves at their defaults.

    Args:
        stateful: prune explored states and look for livelocks in the state graph (the
            default); False runs every schedule, and the report says livelocks were not
            checked.
        max_preemptions: stop after this level (default: go on until the budget runs out or
            the space is exhausted).
        by_deviation: price every non-zero answer, not only preemptions, so the first failure
            has the fewest departures from the default policy (what ``Schedule.sort_key`` ranks
            first; the shrinker searches this way).
        accept: only failures for which this returns True end the search.
    """
    return DfsSearch(info, params, settings, budget, stateful, max_preemptions, by_deviation,
                     accept).explore()
