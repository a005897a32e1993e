"""Shared pieces of the thpmodel tests: run model operations sequentially, inside one actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schedfuzz
from schedfuzz import Outcome, RandomOracle
from thpmodel.scenarios import make_world
from thpmodel.world import Config, World

# The random engine's ladder of switch probabilities: deep and shallow interleavings alike.
LADDER = (0.5, 0.15, 0.85, 0.03)


def solo(body: Callable[[World], Any], config: Config | None = None, *, thp: bool = True,
         dirty: bool = True, writeback: bool = False,
         prepare: Callable[[World], None] | None = None) -> tuple[Outcome, World, Any]:
    """Run ``body(world)`` as the only actor of a fresh world; return the outcome, the world
    and what ``body`` returned. The per-step invariants and the end checks are on."""
    box: dict[str, Any] = {}

    def scenario_fn() -> None:
        world = make_world(config, thp=thp, dirty=dirty, writeback=writeback)
        if prepare is not None:
            prepare(world)
        box["world"] = world
        schedfuzz.spawn(lambda: box.__setitem__("result", body(world)), name="task")

    outcome = schedfuzz.run(scenario_fn)
    return outcome, box["world"], box.get("result")


def oracle(seed: int) -> RandomOracle:
    """Seeded random schedule ``seed``, with the switch probability cycling over ``LADDER``."""
    return RandomOracle(seed, switch_probability=LADDER[seed % len(LADDER)])


def first_verdict(name: str, seeds: range, **params: Any) -> tuple[int, Outcome] | None:
    """The first seed of ``seeds`` whose schedule of ``name`` gives a verdict, with its outcome."""
    for seed in seeds:
        outcome = schedfuzz.run(name, oracle=oracle(seed), **params)
        if outcome.failed:
            return seed, outcome
    return None


def labels(outcome: Outcome) -> list[str]:
    """The step labels of a run, in order."""
    return [label for _, label, _ in outcome.result.trace.rows]
