"""One run of the ``dfs`` search: the oracle that replays a subtree's prefix, then explores.

``DfsOracle`` answers the run's choice points. Within the prefix it gives the recorded
answers back (the steps there were checked by an earlier run); past it, it answers 0, the default
policy, and queues every other answer as a subtree on this level or the next (``DfsSearch.branch``)
by what it costs. In a stateful search each new choice point's state is looked up in the graph:
a state seen before ends the run (``Prune``); a new one is kept, with the edge from the previous
one; a forced one (the bound leaves it one answer) is passed through, see ``KEEP_EVERY``. A
state that holds a value the fingerprint cannot compare (``Runner.fingerprint_inexact``) is
kept without a key, never looked up: no run is pruned and no cycle closed on it.

A replay that does not meet the recorded branching point where it was (``Ways``) raises
``ReplayDiverged``: the scenario is not deterministic, and nothing the search says would hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz._core.actor import ActorState
from schedfuzz._core.fingerprint import outline_of
from schedfuzz._core.oracle import Oracle, RunView, enabled_mask
from schedfuzz.errors import ReplayDiverged
from schedfuzz.execute import nondeterministic
from schedfuzz.schedule import Schedule
from schedfuzz.search.digest import StepDigest
from schedfuzz.search.pending import ROOT
from schedfuzz.search.stategraph import Edge

if TYPE_CHECKING:
    from schedfuzz.search.dfs import DfsSearch

__all__ = ["KEEP_EVERY", "DfsOracle", "Prune"]

RUNNABLE = ActorState.RUNNABLE


class Prune(Exception):
    """Raised from ``choose`` to abandon a run that reached an explored state."""


# On a bound's last level most choice points are forced: the bound leaves them one answer. A
# forced state is looked up (a cycle may come back to a state kept at a lower cost) but not kept,
# and most are new, which their outline tells without a fingerprint. After ``KEEP_EVERY`` forced
# points in a row one is kept anyway: a later run that joins the same forced stretch (runs after
# nearby preemptions soon merge) is then pruned within that many lookups instead of going on to
# the stretch's end, and a loop of forced points (actors ticking under the fair quantum's
# rotation) is cut when it comes round instead of running to the step bound. Measured on c17
# with a writer and a faulter at two preemptions (29,971 states passed, 6,913 runs): one in 8
# kept keeps 6,599 states for 40,815 outline lookups, one in 4 keeps 9,025 for 32,020, one in 64
# keeps 5,644 for 46,922.
KEEP_EVERY = 8


class DfsOracle(Oracle):
    """Replays a subtree's prefix, then answers 0 and records the alternatives it passes."""

    def __init__(self, search: DfsSearch, node: int, alt: int) -> None:
        self.search = search
        self.prefix = search.state.ways.prefix(node, alt)
        self.node = node  # where the last answer of the prefix is given (ROOT: no prefix)
        self.index = 0
        self.cost = 0  # of the answers given so far
        # The branching point passed last: its way-tree node and the answer taken there.
        self.way = (node, alt)
        # (node, answer, step, cost) of the open edge: the last decision at a known state
        self.edge_from: tuple[int, int, int, int] | None = None
        # Choice points since then that the bound left one answer: their steps, and the actors
        # enabled at all of them.
        self.forced: list[int] = []
        self.forced_enabled = -1
        self.exhausted = not self.prefix
        self.root = node == ROOT  # the first run: its subtrees are what workers divide
        self.digest = StepDigest()  # what the steps so far were, to check a replay by

    def choose_actor(self, n: int) -> int:
        return self._choose(n, False)

    def choose_value(self, n: int) -> int:
        # A value (``schedfuzz.choose``), not an actor: no answer of it is a preemption or a
        # stay, and its state is told apart from the scheduling point before it.
        return self._choose(n, True)

    def _choose(self, n: int, data: bool) -> int:
        runner = self.run
        assert runner is not None  # internal: new_run came first
        i = self.index
        self.index = i + 1
        keep = not data and runner.keep
        cur = runner.current
        # When the current actor may not be kept, it is the last in the rotation; choosing it
        # anyway is a "stay".
        stay_at = n - 1 if not data and not keep and cur is not None and \
            cur.state is RUNNABLE else -1
        if i < len(self.prefix):
            return self._replay(runner, i, n, keep, stay_at)
        return self._explore(runner, n, data, keep, stay_at)

    def _replay(self, runner: RunView, i: int, n: int, keep: bool, stay_at: int) -> int:
        """Give back answer ``i`` of the prefix, checking at its last one that the run came
        where the run that found the subtree had been."""
        search = self.search
        if i == 0:
            runner.replaying(True)  # the steps up to the last answer were checked before
        d = self.prefix[i]
        if d >= n:
            raise self._diverged(i, f"choice point {i} has {n} actors enabled, too few "
                                    f"for the answer {d} an earlier run took there")
        paid = 1 if d and (search.by_deviation or keep or d == stay_at) else 0
        self.cost += paid
        if i == len(self.prefix) - 1:
            ways = search.state.ways
            node = self.node
            if runner.step != ways.step[node] or n != ways.width[node]:
                raise self._diverged(i, f"choice point {i} came at step {runner.step} with "
                                        f"{n} actors enabled, where the run that found it "
                                        f"had step {ways.step[node]} and "
                                        f"{ways.width[node]}")
            if self.digest.at(runner) != ways.steps[node]:
                raise self._diverged(i, f"the {runner.step} steps before choice point {i} "
                                        "differ from those of the run that found it (other "
                                        "actors or operations)")
            runner.replaying(False)
            self.exhausted = True  # from here on every answer is 0: the default policy
            if search.state.stateful:
                self.edge_from = (self.node, d, runner.step, paid)
        return d

    def _explore(self, runner: RunView, n: int, data: bool, keep: bool, stay_at: int) -> int:
        """Past the prefix: answer 0, and queue every other answer as a subtree (or, in a
        stateful search, end the run at a state seen before: ``Prune``)."""
        search = self.search
        consecutive = runner.consecutive if search.state.stateful else 0
        cost = self.cost
        priced = search.by_deviation or keep
        bound = search.max_preemptions
        # Does the bound leave this point one answer (0)? Then it cannot branch, and on a
        # proof's last level most points are like this.
        forced = bound is not None and cost >= bound and (priced or (n == 2 and stay_at == 1))
        if forced and not search.state.stateful:
            search.state.beyond_bound += n - 1
            return 0
        decisions = runner.decisions
        if search.state.stateful:
            graph = search.state.graph
            # Not kept if forced, but looked up: a cycle may come back here to a state kept at
            # a lower cost. Most forced states are new, which their outline tells for less.
            passing = forced and len(self.forced) < KEEP_EVERY
            if passing and not graph.may_hold(graph.key(search.outline(runner, consecutive, data))):
                return self._pass(runner, n)
            fingerprint = search.fingerprint(runner, consecutive, data)
            if runner.fingerprint_inexact:
                # The state holds a value the fingerprint cannot compare: it equals no other,
                # and its hash cannot show that, so it is kept without a key.
                search.met_inexact(runner.inexact)
                key = None
            else:
                key = graph.key(fingerprint)
                nid = graph.find(key)
                if nid is not None:
                    self._close(runner, nid)
                    raise Prune
            if passing:
                return self._pass(runner, n)
            nid = graph.add(key, len(decisions), enabled_mask(runner),
                            graph.key(outline_of(fingerprint)))
            self._close(runner, nid)
            self.edge_from = (nid, 0, runner.step, 0)
        else:
            nid = len(search.state.ways)
        search.state.ways.add(*self.way, len(decisions), runner.step, n, self.digest.at(runner))
        self.way = (nid, 0)
        for alt in range(n - 1, 0, -1):  # pushed in reverse: answer 1 is explored first
            if self.root and not search.mine():
                continue  # another worker's subtree
            extra = 1 if priced or alt == stay_at else 0
            search.branch(nid, alt, cost + extra)
        return 0

    def _diverged(self, decisions: int, what: str) -> ReplayDiverged:
        """The same decisions led elsewhere: shuttle's uncontrolled-nondeterminism check, made
        at every replay for a few comparisons and a digest of the steps replayed."""
        search = self.search
        return nondeterministic(search.info, search.params,
                                f"after the same {decisions} decisions, {what}",
                                Schedule(self.prefix[:decisions]))

    def _pass(self, runner: RunView, n: int) -> int:
        """Go on through a forced choice point without keeping its state: the open edge runs
        on through it, and the actors enabled here bound the ones enabled all along it."""
        self.search.state.beyond_bound += n - 1
        self.forced.append(runner.step)
        self.forced_enabled &= enabled_mask(runner)
        return 0

    def _close(self, runner: RunView, dst: int) -> None:
        """Record the edge from the previous choice point (if any) to the state ``dst``."""
        if self.edge_from is None:
            return
        src, choice, start, cost = self.edge_from
        rows = runner.trace.rows
        ran = 0
        through = self.search.state.graph.enabled[src] & self.forced_enabled
        forced = set(self.forced)
        for k in range(start, runner.step):
            bit = 1 << rows[k][0]
            ran |= bit
            if k > start and k not in forced:
                through &= bit  # a step between choice points: only its actor was enabled
        progress = runner.last_progress >= start
        self.search.state.graph.edges.append(Edge(src, choice, dst, ran, through, progress, cost,
                                            len(forced)))
        self.forced = []
        self.forced_enabled = -1
