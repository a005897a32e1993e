"""Schedule values: the text form round-trips, and bad text says exactly what is wrong."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import pytest
import schedfuzz as sf
from schedfuzz import Schedule


@given(st.lists(st.integers(0, 10**6), max_size=50), st.data())
def test_encode_decode_round_trip(decisions: list[int], data: st.DataObject) -> None:
    cycle = data.draw(st.none() | st.integers(0, len(decisions)))
    schedule = Schedule(decisions, cycle)
    text = schedule.encode()
    assert text.startswith("sf1.")
    assert Schedule.decode(text) == schedule


@pytest.mark.parametrize(
    ("text", "reason"),
    [("xx1.AAAA", "starts with 'sf1.'"), ("sf1.@@@", "not valid base64"),
     ("sf1.Ag", "unknown format version or is truncated"), ("sf1.AQUAAA", "says 5 decisions"),
     ("sf1.gA", "ends inside a number")],
)
def test_bad_schedule_text_is_one_line_error(text: str, reason: str) -> None:
    with pytest.raises(sf.InvalidArgument, match=reason):
        Schedule.decode(text)


def test_decisions_must_be_non_negative_ints() -> None:
    with pytest.raises(sf.InvalidArgument, match="non-negative ints"):
        Schedule([0, -1])
    with pytest.raises(sf.InvalidArgument, match="cycle_start"):
        Schedule([0, 1], 3)


def test_sort_key_prefers_fewer_deviations_then_shorter() -> None:
    assert Schedule([0, 0, 0, 1]).sort_key() < Schedule([1, 1]).sort_key()
    assert Schedule([0, 1]).sort_key() < Schedule([0, 0, 1]).sort_key()


def test_replay_of_a_schedule_that_no_longer_fits_diverges_with_the_choice_point() -> None:
    outcome = sf.run("demo.abba", oracle=sf.ScriptOracle(["one", "one", "two"]))
    widths = list(outcome.result.widths)
    widths[1] = 3
    with pytest.raises(sf.ReplayDiverged, match="choice point 1: the recording had 3"):
        sf.run("demo.abba", schedule=outcome.schedule, widths=widths)
    with pytest.raises(sf.ReplayDiverged, match="decision 5 but only 2 actors"):
        sf.run("demo.abba", schedule=Schedule([5]))


def test_replay_raises_the_verdict_with_trace_and_replay_line() -> None:
    text = sf.run("demo.abba", oracle=sf.ScriptOracle(["one", "one", "two"])).schedule.encode()
    with pytest.raises(sf.Deadlock) as info:
        sf.replay("demo.abba", text)
    notes = "\n".join(info.value.__notes__)
    assert "step  one" in notes
    assert f"--schedule {text}" in notes
