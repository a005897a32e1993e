"""The state graph's compact tables: a key table and edge columns that act like a dict and a
list of edges, in a fraction of the memory."""

from __future__ import annotations

import random

import pytest
import schedfuzz as sf
from schedfuzz.explore import Budget
from schedfuzz.scenario import resolve
from schedfuzz.search import dfs
from schedfuzz.search.statetable import Edge, EdgeTable, KeyTable, TagSet
from schedfuzz.settings import Settings


def test_key_table_acts_as_a_dict_through_growth_and_collisions() -> None:
    rng = random.Random(7)
    keys = [rng.randrange(-(1 << 63), 1 << 63) for _ in range(5000)]
    keys += [k + 1024 for k in keys[:500]]  # same low bits: the same first slot
    keys += [0, -1, 1024, -1024]
    table, model = KeyTable(capacity=4), {}
    for value, key in enumerate(keys):
        table[key] = value
        model[key] = value
    assert len(table) == len(model)
    assert all(table.get(key) == value for key, value in model.items())
    assert table.get(12345678901) is None
    assert 2 * len(table) <= len(table.values)  # never more than half full
    again = KeyTable.load(table.dump())
    assert all(again.get(key) == value for key, value in model.items())


def test_tag_set_never_forgets_a_key_through_its_growth() -> None:
    """A false "no" would let a search pass a kept state by; a false "yes" only costs a
    fingerprint. Keys that share their low 32 bits (the tag) are the one confusion."""
    rng = random.Random(7)
    keys = [rng.getrandbits(64) - (1 << 63) for _ in range(5000)] + [0, 1 << 40, -1]
    tags = TagSet(4)
    for key in keys:
        tags.add(key)
    assert all(key in tags for key in keys)
    assert 2 * len(tags) <= len(tags.tags)
    assert (1 << 40) + 5 not in tags
    five = TagSet()
    five.add(5)
    assert 5 + (7 << 32) in five  # the same low 32 bits: taken for 5
    assert 6 not in five
    assert all(key in TagSet.load(tags.dump()) for key in keys)
    absent = [rng.getrandbits(64) for _ in range(5000)]
    assert sum(key in tags for key in absent) <= 2
    with pytest.raises(ValueError, match="does not fit"):
        TagSet.load((tags.dump()[0][:12], 1))


def test_edge_table_gives_back_the_edges_it_was_given() -> None:
    edges = [Edge(0, 1, 2, 0b11, 0b01, False, 1, 3), Edge(2, 0, 0, 1 << 70, 1 << 70, True, 0)]
    table = EdgeTable()
    for e in edges:
        table.append(e)
    assert list(table) == edges
    assert table[1] == edges[1]  # actor masks wider than 64 bits survive
    assert list(table.progress_free()) == [(0, 2)]
    assert table.within({0, 2}) == [edges[0]]
    assert list(EdgeTable.load(table.dump())) == edges
    assert edges[0].decisions() == (1, 0, 0, 0)  # the choice, then the forced zeros


def test_damaged_columns_are_refused() -> None:
    keys, values, size = KeyTable().dump()
    with pytest.raises(ValueError, match="do not fit"):
        KeyTable.load((keys, values[:8], size))
    src, choice, dst, flags, forced, _, through = EdgeTable().dump()
    with pytest.raises(ValueError, match="differ in length"):
        EdgeTable.load((src, choice, dst, flags, forced, [1], through))
    with pytest.raises(ValueError, match="differ in length"):
        EdgeTable.load((src, choice, dst, flags, bytes(4), [], through))


def test_a_real_search_keeps_under_150_bytes_a_state() -> None:
    name = "thp.upstream.c17"
    if name not in sf.registry():
        pytest.skip("thpmodel not installed")
    # No bound: every state is kept (on a bound's last level most are not, see test_engines).
    report = dfs.DfsSearch(resolve(name), {"actors": "writer,faulter"}, Settings(),
                           Budget(max_schedules=300)).explore()
    states = report.stats["states"]
    assert states > 1000
    # two hash tables (fingerprints, outlines) at most half full, the columns, the edges
    assert report.stats["graph_bytes"] / states < 150
