"""The machinery under ``schedfuzz.threads``: ``threading`` as actors, for one run at a time.

``world`` keeps the run's virtual clock and sleepers, ``locks`` and ``threads`` are the
replacements for ``threading``'s primitives and thread objects, ``patch`` installs and undoes
them, ``preempt`` instruments the modules named by ``--preempt-in``, and ``adapt`` turns a plain
threaded function into a scenario. Corpus replay needs ``adapt`` alone, so nothing here imports
the fuzzing layers.
"""
