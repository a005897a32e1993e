"""The ``dfs`` engine: the exhaustive search of ``schedfuzz.search``, in one process or several.

Every schedule with at most K preemptions, K = 0, 1, 2, ...; a stateful search that visits each
state once and finds livelocks as fair cycles in its state graph, or proves there is none within
the bound (or at all). ``Budget.workers`` processes split the first run's subtrees
(``search.workers``); ``Budget.checkpoint`` saves an unfinished search to resume.
"""

from __future__ import annotations

from typing import Any

from schedfuzz.budget import Budget
from schedfuzz.engines import register_engine
from schedfuzz.scenario import ScenarioInfo
from schedfuzz.search import checkpoint
from schedfuzz.search.dfs import search
from schedfuzz.search.workers import parallel_search
from schedfuzz.settings import Settings
from schedfuzz.verdict import Report

__all__ = ["dfs_engine"]


@register_engine("dfs", parallel=True)
def dfs_engine(info: ScenarioInfo, params: dict[str, Any], settings: Settings,
               budget: Budget) -> Report:
    """Preemption-bounded exhaustive search with state caching, up to
    ``budget.max_preemptions`` if given, in ``budget.workers`` processes."""
    if budget.checkpoint is not None:
        checkpoint.check_workers(budget.checkpoint, budget.workers)
    if budget.workers > 1:
        return parallel_search(info, params, settings, budget)
    return search(info, params, settings, budget, max_preemptions=budget.max_preemptions)
