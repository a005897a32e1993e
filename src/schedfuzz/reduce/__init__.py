"""Reducing a failure to the simplest schedule that shows it.

``shrink`` deletes, lowers and reorders decisions; ``turns`` rebuilds runs from actor orders (a
run's turns, joined and swapped); ``minimal`` proves the fewest preemptions with the exhaustive
search (``schedfuzz.search``) and assembles the whole pipeline (``minimal.reduce``), which every
engine and ``@fuzz`` use.
"""
