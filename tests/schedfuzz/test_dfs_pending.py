"""The way tree and the pending subtrees of the ``dfs`` search (``search/pending.py``)."""

from __future__ import annotations

import pytest
from schedfuzz.search.pending import ROOT, Pending, Ways


def _tree() -> Ways:
    """Branching points met by three runs: the first run passes 0 then 1 (decisions 0 and 3
    before them); answer 2 at node 1 leads to node 2 after two more zeros; answer 1 at node 0
    leads to node 3 at once. (Steps, widths and step digests: what a replay must meet.)"""
    ways = Ways()
    assert ways.add(ROOT, 0, 0, 1, 2, 11) == 0
    assert ways.add(0, 0, 3, 5, 2, 12) == 1
    assert ways.add(1, 2, 6, 9, 3, 13) == 2
    assert ways.add(0, 1, 1, 2, 2, 14) == 3
    return ways


def test_a_subtree_replays_the_way_to_its_node_then_its_answer() -> None:
    ways = _tree()
    assert ways.prefix(ROOT, 0) == b""
    assert ways.prefix(0, 2) == bytes([2])
    assert ways.prefix(1, 1) == bytes([0, 0, 0, 1])
    assert ways.prefix(2, 3) == bytes([0, 0, 0, 2, 0, 0, 3])
    assert ways.prefix(3, 1) == bytes([1, 1])


def test_answers_past_a_byte_come_back_as_a_tuple() -> None:
    ways = Ways()
    ways.add(ROOT, 0, 1, 1, 400, 0)
    assert ways.prefix(0, 300) == (0, 300)


def test_pending_subtrees_pop_last_first_and_reverse_for_the_next_level() -> None:
    pending = Pending()
    for node, alt in [(ROOT, 0), (0, 2), (3, 1)]:
        pending.push(node, alt)
    later = pending.reversed()
    assert [pending.pop() for _ in range(3)] == [(3, 1), (0, 2), (ROOT, 0)]
    assert [later.pop() for _ in range(3)] == [(ROOT, 0), (0, 2), (3, 1)]
    assert not pending
    assert later.nbytes() == 0


def test_both_survive_a_dump_and_damage_is_refused() -> None:
    ways = _tree()
    again = Ways.load(ways.dump())
    assert [again.prefix(n, 1) for n in range(4)] == [ways.prefix(n, 1) for n in range(4)]
    assert (list(again.step), list(again.width), list(again.steps)) == (
        [1, 5, 9, 2], [2, 2, 3, 2], [11, 12, 13, 14])
    pending = Pending()
    pending.push(2, 5)
    assert Pending.load(pending.dump()).pop() == (2, 5)
    parent, answer, depth, step, width, steps = ways.dump()
    with pytest.raises(ValueError, match="differ in length"):
        Ways.load((parent, answer[:2], depth, step, width, steps))
    with pytest.raises(ValueError, match="wrong number of columns"):
        Ways.load((parent, answer, depth))  # a tree saved before steps were recorded
    loop = Ways()
    loop.add(1, 0, 0, 0, 2, 0)  # its own successor as parent: a way that never ends
    loop.add(0, 0, 1, 1, 2, 0)
    with pytest.raises(ValueError, match="does not come before"):
        Ways.load(loop.dump())
    nodes, alts = pending.dump()
    with pytest.raises(ValueError, match="differ in length"):
        Pending.load((nodes, alts + alts))
