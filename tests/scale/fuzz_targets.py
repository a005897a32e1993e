"""Two ``@fuzz`` tests for HypoFuzz to fuzz: one scenario without a bug, one with.

``test_hypofuzz.py`` runs ``hypothesis fuzz`` on this module. The name does not match pytest's
``test_*.py``, so the ordinary suite never collects it: the buggy target fails by design, and
that failure is what the HypoFuzz test looks for. Both are ordinary schedfuzz tests, written as
any project would write them; nothing here knows about HypoFuzz.

To fuzz them by hand (``--no-dashboard`` for a terminal without a browser; stop with Ctrl-C)::

    hypothesis fuzz --no-dashboard -n 1 -- tests/scale/fuzz_targets.py
"""

from __future__ import annotations

from schedfuzz.execute import Outcome
from schedfuzz.fuzz import fuzz

CLEAN = "test_spin_wait_always_gets_through"
BUGGY = "test_lost_update_keeps_every_increment"


@fuzz("demo.spin-wait")
def test_spin_wait_always_gets_through(outcome: Outcome) -> None:
    """One actor spins on a flag until another sets it: every schedule ends well."""
    # @fuzz already fails a run with a verdict; this checks that the run was a real one.
    assert outcome.kind == "ok"
    assert outcome.result.steps > 0


@fuzz("demo.lost-update", n=2)
def test_lost_update_keeps_every_increment() -> None:
    """Two actors increment a counter by a load and a separate store: one preemption loses one."""
