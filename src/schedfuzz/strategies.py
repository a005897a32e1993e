"""Hypothesis strategies for schedules: every scheduling decision drawn, few values per schedule.

A schedule is described by its *deviations* from the default policy, not by one draw per step:
a draw inside the run costs about 100 us, a scheduler step well under 10 us, and a per-step draw
would also print one line per step in the failure report. So a schedule is one small draw for
its *shape*, then **one** ``st.binary`` draw, decoded into a ``SchedulePlan`` that a
``ScheduleOracle`` follows (``schedfuzz.plans`` defines both encodings):

* a *deviation plan*, one schedule in four: a few records, each a gap (from 0 up to about
  65,000 choice points, the small ones likelier) and a choice, optionally cycling. It finds a
  bug that needs a few switches, each at one of many places, deep in a long run or round a
  livelock's cycle, and Hypothesis shrinks it to the fewest;
* a *walk*, three in four: a switch probability and ``WALK_SWITCHES`` records, the switches of
  a random walk. It finds a bug that needs many switches close together, which a plan cannot:
  the chance of drawing every record of a plan right falls geometrically with their number.
  The model's page-lock races need 5 to 12 preemptions in about 20 steps; 22,000 plans never
  found them, walks do in a few thousand runs (a few hundred for the 2-preemption one).

Three in four because the walks find every bug of the demos and the model but the adversarial
livelocks, and find them sooner, while those livelocks still take only a few hundred schedules
as cycling plans. No single switch probability suits every bug (a dense walk interleaves
finely, a sparse one lets an actor get deep into an operation first), so each walk draws its
own, and denser ones likelier: dense interleavings are what plans cannot reach. The shape draw
shrinks towards the plan.

Hypothesis's shrinking is local: it can stop at a walk with a dozen switches where two suffice,
or at a livelock found by switching at every step. ``schedfuzz.reduce.minimal.reduce`` finishes what
it started, and the engine and ``@fuzz`` call it.

Prior art: delay bounding (Emmi, Qadeer, Rakamaric, POPL 2011) searches schedules by their few
departures from a deterministic scheduler; this is that idea with Hypothesis choosing and
shrinking the departures. The walks are the naive random scheduler that SCTBench (Thomson,
Donaldson, Betts, PPoPP 2014) found about as effective as systematic schedule bounding, with
Hypothesis drawing and shrinking the coin flips.
"""

from __future__ import annotations

from hypothesis import strategies as st

from schedfuzz.errors import InvalidArgument
from schedfuzz.plans import (
    WALK_SWITCHES,
    Deviation,
    ScheduleOracle,
    SchedulePlan,
    gap_of,
    walk_gaps,
)

__all__ = [
    "WALK_SWITCHES",
    "Deviation",
    "ScheduleOracle",
    "SchedulePlan",
    "gap_of",
    "schedules",
    "walk_gaps",
]


def schedules(*, max_deviations: int = 6,
              walk: int = WALK_SWITCHES) -> st.SearchStrategy[ScheduleOracle]:
    """A strategy for scheduling oracles: pass the drawn value as ``oracle=`` to ``schedfuzz.run``.

    Each schedule is a deviation plan or, if ``walk``, three times in four a walk (one draw
    saying which, one ``st.binary`` draw for the schedule), so a test case costs about as much as
    Hypothesis's own floor plus the run; the shrinker removes deviations (preemptions) first,
    then moves the rest earlier. See ``schedfuzz.plans`` for the encodings.

    Args:
        max_deviations: the most departures from the default policy in one deviation plan (a
            cycling plan repeats its deviations, so it can preempt more often).
        walk: the records (switches) of a walk (0: no walks, only deviation plans).

    Example (``schedfuzz.fuzz.fuzz`` writes this test for you)::

        @given(schedfuzz.strategies.schedules())
        def test_counter(oracle):
            outcome = schedfuzz.run("demo.lost-update", oracle=oracle)
            schedfuzz.fuzz.check(outcome, oracle)  # raise the verdict, with the trace
    """
    for name, value in (("max_deviations", max_deviations), ("walk", walk)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = f"{name} must be a non-negative int, got {value!r}"
            raise InvalidArgument(msg)
    plans = st.binary(max_size=2 * max_deviations + (1 if max_deviations else 0))
    walks = st.binary(min_size=walk + 1, max_size=walk + 1) if walk else None
    return _oracles(plans, walks)


# The shape of a schedule: 0 a deviation plan, else a walk. Built once: a strategy built anew
# for every draw costs Hypothesis more than the draw itself.
_SHAPES = st.integers(0, 3)


@st.composite
def _oracles(draw: st.DrawFn, plans: st.SearchStrategy[bytes],
             walks: st.SearchStrategy[bytes] | None) -> ScheduleOracle:
    # composite rather than .map(): Hypothesis then shows the value's own repr in a failure
    # report, "schedule(2:1)", not the expression that built it.
    if walks is not None and draw(_SHAPES):
        return ScheduleOracle(SchedulePlan.from_walk(draw(walks)), "walk")
    return ScheduleOracle(SchedulePlan.from_bytes(draw(plans)))
