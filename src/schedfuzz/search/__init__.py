"""The exhaustive search: every schedule within a preemption bound, each state once.

``dfs.DfsSearch`` runs the search (``dfs.search`` with its options); ``oracle.DfsOracle`` answers
one run's choice points; ``pending`` keeps the subtrees still to run, ``stategraph`` and
``statetable`` the states seen and the edges between them (where livelocks show as fair
cycles); ``report`` words what a finished search proved; ``checkpoint`` saves and resumes an
unfinished one; ``workers`` splits a search among processes. The ``dfs`` engine
(``schedfuzz.engines.dfs``) and the reducer's fewest-preemptions proof
(``schedfuzz.reduce.minimal``) both build on it.
"""
