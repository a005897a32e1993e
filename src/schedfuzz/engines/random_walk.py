"""The ``random`` engine: seeded random walks, the cheapest schedules there are.

Schedule ``i`` is a random walk whose seed is derived from ``(Budget.seed, i)``: at every choice
point it keeps the current actor with probability ``1 - p`` and otherwise runs one of the other
enabled actors, uniformly. No single ``p`` suits every bug: a large one interleaves finely (good
for races on one variable), a small one lets an actor run long stretches undisturbed (good for
bugs that need one actor deep inside an operation before the other arrives). So ``p`` cycles
through a short ladder by schedule index, and every bug depth gets a share of the budget.

SCTBench found this naive controlled random scheduler about as effective as systematic schedule
bounding on real C programs; it has no Hypothesis cost per decision, so it is also the fast path.
A failure is shrunk by ``schedfuzz.reduce.shrink`` to a minimal reproducer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from schedfuzz._core.oracle import RandomOracle
from schedfuzz.budget import Budget
from schedfuzz.engines import register_engine
from schedfuzz.engines.sampling import sample
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report

__all__ = ["SWITCH_LADDER", "RandomWalk", "derive_seed", "random_engine"]

# Probability of leaving the current actor at a choice point, by schedule index modulo 4.
SWITCH_LADDER = (0.5, 0.15, 0.85, 0.03)


def derive_seed(seed: int, index: int, salt: str) -> int:
    """A 64-bit seed for schedule ``index`` of a search seeded with ``seed``.

    Hashing (rather than ``seed + index``) keeps neighbouring searches from sharing schedules:
    seed 1's schedule 0 is not seed 0's schedule 1. blake2b is stable across processes and
    platforms, unlike ``hash()``.
    """
    digest = hashlib.blake2b(f"{salt}:{seed}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class RandomWalk:
    """The sampler of the ``random`` engine (see the module docstring)."""

    def __init__(self, info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                 seed: int) -> None:
        self.seed = seed

    def oracle(self, index: int) -> RandomOracle:
        p = SWITCH_LADDER[index % len(SWITCH_LADDER)]
        return RandomOracle(derive_seed(self.seed, index, "random"), switch_probability=p)


@register_engine("random", parallel=True)
def random_engine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
                  budget: Budget) -> Report:
    """Run ``budget.max_schedules`` random walks (split over ``budget.workers`` processes)."""
    return sample("random", info, params, settings, budget,
                  "schedfuzz.engines.random_walk:RandomWalk")
