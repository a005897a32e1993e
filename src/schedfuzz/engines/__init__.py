"""Search engines beyond Hypothesis: seeded random walk, PCT and bounded exhaustive search.

Each module registers one engine with ``schedfuzz.explore.register_engine``; ``explore`` imports
it on first use, so importing schedfuzz costs nothing for engines nobody asks for.

* ``random`` (``random_walk.py``): schedule ``i`` is a random walk seeded from ``(seed, i)``.
* ``pct`` (``pct.py``): probabilistic concurrency testing with priority change points, fair.
* ``dfs`` (``dfs.py``): every schedule with at most K preemptions, K = 0, 1, 2, ...; a stateful
  search that visits each state once and finds livelocks as fair cycles in its state graph, or
  proves there is none within the bound (or at all).

The sampling engines share ``sampling.py``: the loop over schedule indices, multi-process
splitting, and shrinking the first failure with ``schedfuzz.shrink``.
"""
