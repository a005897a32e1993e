"""Livelocks the exact lasso cannot close: cycles whose data keeps changing.

``pump`` replays a candidate cycle of the control state to ``Settings.max_steps`` and names what
changes round after round; ``reads`` traces one late round to tell values the cycle reads from
values it only writes. ``execute.run`` settles a replayed cycle with ``pump.settle``; the
engines' search step that finds such cycles is ``schedfuzz.engines.pumping``.
"""
