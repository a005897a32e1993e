"""``SearchState``: everything an exhaustive search knows between two runs, in one record.

A search is its configuration (the scenario, the bound, the pricing) plus this record: the level
being explored, the way tree of branching points and the subtrees still to run on this level and
the next, the state graph, the counts, and what has been proved so far. A checkpoint is this
record written out (``dump``) and read back (``load``), as loom's ``Path`` is the whole of a loom
exploration: nothing else needs saving, and no field is copied by hand.
"""

from __future__ import annotations

from typing import Any

import attrs

from schedfuzz.search.pending import Pending, Ways
from schedfuzz.search.stategraph import Lasso, StateGraph
from schedfuzz.search.statetable import EdgeTable, KeyTable, TagSet

__all__ = ["SearchState"]


@attrs.define(eq=False)
class SearchState:
    """What an exhaustive search has done and still has to do.

    Attributes:
        graph: the states kept and the edges between them (stateful search).
        level: the preemption count being explored.
        ways: the branching points met so far, the tree the subtrees hang from.
        stack: the subtrees still to run on this level.
        next_level: the subtrees that cost one more, for the next level.
        runs: runs so far (resumed sessions' included).
        pruned: runs ended at a state seen before.
        rejected: failures the search's ``accept`` turned down.
        beyond_bound: answers dropped because they cost more than ``max_preemptions``.
        stateful: prune explored states and look for livelocks in the graph.
        check_livelocks: whether the graph can still show every livelock (a stateless
            search, or one that met states it cannot compare, cannot).
        inexact: what the runs met that the fingerprint cannot compare (a few descriptions).
        verified: the highest level explored completely (-1: none yet).
        lasso: the cheapest livelock in the graph, once there is one.
    """

    graph: StateGraph
    stateful: bool = True
    level: int = 0
    ways: Ways = attrs.field(factory=Ways)
    stack: Pending = attrs.field(factory=Pending)
    next_level: Pending = attrs.field(factory=Pending)
    runs: int = 0
    pruned: int = 0
    rejected: int = 0
    beyond_bound: int = 0
    check_livelocks: bool = True
    inexact: list[str] = attrs.field(factory=list)
    verified: int = -1
    lasso: Lasso | None = None

    def dump(self) -> dict[str, Any]:
        """The record as ``marshal``-able values (what a checkpoint file holds)."""
        graph = self.graph
        return {
            "level": self.level, "ways": self.ways.dump(), "stack": self.stack.dump(),
            "next_level": self.next_level.dump(), "runs": self.runs, "pruned": self.pruned,
            "rejected": self.rejected, "beyond_bound": self.beyond_bound,
            "stateful": self.stateful, "check_livelocks": self.check_livelocks,
            "inexact": self.inexact, "verified": self.verified,
            "lasso": None if self.lasso is None else attrs.astuple(self.lasso),
            "ids": graph.ids.dump(), "outlines": graph.outlines.dump(),
            "depth": graph.depth.tobytes(), "enabled": graph.enabled,
            "edges": graph.edges.dump(),
        }

    @classmethod
    def load(cls, body: dict[str, Any]) -> SearchState:
        """The record ``dump`` wrote; ``ValueError`` (or ``KeyError``, ``TypeError``) if the
        parts do not fit together."""
        graph = StateGraph(stable=True)  # the hashes saved are stable ones
        graph.ids = KeyTable.load(body["ids"])
        graph.outlines = TagSet.load(body["outlines"])
        graph.depth.frombytes(body["depth"])
        graph.enabled = body["enabled"]
        graph.edges = EdgeTable.load(body["edges"])
        lasso = body["lasso"]
        state = cls(graph, stateful=body["stateful"], level=body["level"],
                    ways=Ways.load(body["ways"]), stack=Pending.load(body["stack"]),
                    next_level=Pending.load(body["next_level"]), runs=body["runs"],
                    pruned=body["pruned"], rejected=body["rejected"],
                    beyond_bound=body["beyond_bound"], check_livelocks=body["check_livelocks"],
                    inexact=[str(what) for what in body["inexact"]], verified=body["verified"],
                    lasso=None if lasso is None else Lasso(*lasso))
        state.check()
        return state

    def check(self) -> None:
        """``ValueError`` if the tables disagree (a damaged file)."""
        graph = self.graph
        # A state kept without a key (an uncomparable value in it) has no entry in ``ids``.
        if not len(graph.depth) == len(graph.enabled) >= max(len(graph.ids),
                                                             len(graph.outlines)):
            msg = "the state tables differ in length"
            raise ValueError(msg)
        if self.stateful and len(self.ways) != len(graph):
            msg = "the way tree and the state graph differ in length"
            raise ValueError(msg)
        for pending in (self.stack, self.next_level):
            if pending.nodes and not -1 <= min(pending.nodes) <= max(pending.nodes) \
                    < len(self.ways):
                msg = "a pending subtree names a branching point the file does not hold"
                raise ValueError(msg)
