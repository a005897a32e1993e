"""``python -m thpmodel``: the scenario table and its exit status (table.py)."""

from __future__ import annotations

import json

import attrs

import pytest
from schedfuzz.explore import Budget
from thpmodel import table


def test_table_row_for_a_found_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """A buggy scenario's row shows its verdict, the schedules to find it and the reproducer."""
    code = table.main(["--engine", "random", "--seconds", "2", "--only",
                       "thp.splitwait.hold-lock"])
    out = capsys.readouterr().out
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("thp.splitwait.hold-lock"))
    assert row.split()[1:3] == ["deadlock", "deadlock"]
    assert row.split()[-1] == "ok"


def test_table_marks_a_preemption_count_proved_fewest(capsys: pytest.CaptureFixture[str]) -> None:
    """The exhaustive search below the reproducer's count finished: its count gets a star, and
    the legend says what the star means; without time for that search, no star."""
    assert table.main(["--seconds", "2", "--only", "thp.splitwait.hold-lock"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("thp.splitwait.hold-lock"))
    assert row.split()[-2] == "1*"
    assert "* the fewest preemptions any schedule needs" in out
    assert table.main(["--seconds", "2", "--only", "thp.splitwait.hold-lock",
                       "--shrink-seconds", "0"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("thp.splitwait.hold-lock"))
    assert not row.split()[-2].endswith("*")


def test_table_proves_a_clean_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """Where no failure is found, the exhaustive search gets the same time for a proof: a
    small model's complete state space ("all"), a large one's bound ("<=K"); none without
    the time for it."""
    assert table.main(["--engine", "random", "--seconds", "0.5", "--only",
                       "thp.split.atomic-dirty-clear"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("thp.split.atomic"))
    assert row.split()[-2:] == ["all", "ok"]
    assert "all: its complete state space has none" in out
    assert table.main(["--engine", "random", "--seconds", "0.5", "--only",
                       "thp.retry.fault-finite", "--shrink-seconds", "4"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("thp.retry.fault-finite"))
    assert row.split()[-2].startswith("<=")  # how far it got depends on the machine
    assert table.main(["--engine", "random", "--seconds", "0.5", "--only",
                       "thp.retry.fault-finite", "--shrink-seconds", "4", "--json"]) == 0
    report, = json.loads(capsys.readouterr().out)
    assert report["proof"].startswith("verified: no failure with at most ")
    assert table.main(["--engine", "random", "--seconds", "0.5", "--only",
                       "thp.split.atomic-dirty-clear", "--shrink-seconds", "0"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("thp.split.atomic"))
    assert row.split()[-2:] == ["-", "ok"]


def test_a_failure_the_proof_finds_is_the_rows_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the first search misses a bug, the exhaustive search meant to prove the scenario
    clean finds it, and the row reports that failure, never "ok"."""
    real = table.explore

    def one_schedule(info: object, *, engine_name: str, budget: Budget) -> object:
        if engine_name != "dfs":  # a first search that runs a single (passing) schedule
            budget = attrs.evolve(budget, max_schedules=1)
        return real(info, engine_name=engine_name, budget=budget)

    monkeypatch.setattr(table, "explore", one_schedule)
    info, = table.table_scenarios("thp.splitwait.hold-lock")
    row = table.run_one(info, "random", Budget(max_schedules=10, shrink_seconds=10))
    assert (row.found, row.match, row.preemptions, row.proved) == ("deadlock", True, 1, None)
    assert row.report["engine"] == "dfs"


def test_table_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one report per scenario with the match flag."""
    code = table.main(["--engine", "random", "--seconds", "0.3", "--only",
                       "thp.splitwait.self-*", "--json"])
    reports = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["scenario"] for r in reports] == ["thp.splitwait.self-ref"]
    assert reports[0]["verdict"] == "hang"
    assert reports[0]["match"] is True


def test_table_flags_a_mismatch(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """A verdict other than the expected one is a MISMATCH and exit status 1."""
    real = table.table_scenarios

    def wrong(pattern: str | None = None) -> list[object]:
        return [attrs.evolve(info, expect="ok") for info in real(pattern)]

    monkeypatch.setattr(table, "table_scenarios", wrong)
    code = table.main(["--engine", "random", "--seconds", "0.3", "--only",
                       "thp.splitwait.self-ref"])
    out = capsys.readouterr().out
    assert code == 1
    assert "MISMATCH" in out
    assert "1 mismatch(es): thp.splitwait.self-ref" in out


def test_table_ctrl_c_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C in the middle of the table: one line, the shell's 130, no traceback."""
    def interrupted(*args: object, **kwargs: object) -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(table, "run_table", interrupted)
    code = table.main(["--only", "thp.splitwait.self-ref"])
    assert code == 130
    assert capsys.readouterr().err == "python -m thpmodel: interrupted\n"


def test_table_open_question_is_not_a_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario with expect=None reports what was found as "open"."""
    code = table.main(["--engine", "random", "--seconds", "1", "--only", "hybrid-kill"])
    out = capsys.readouterr().out
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("thp.pagelock.hybrid-kill"))
    assert row.split()[-1] == "open"


@pytest.mark.parametrize(("argv", "message"), [
    (["--only", "no-such-scenario"], "no scenario matches 'no-such-scenario'"),
    (["--engine", "bogus", "--only", "self-ref"], "unknown engine 'bogus'"),
    (["--seconds", "0"], "--seconds must be positive"),
])
def test_table_bad_arguments(argv: list[str], message: str,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments give exit status 2 and one line naming the problem."""
    assert table.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_scenario_selection_by_glob_or_substring() -> None:
    """--only takes a glob or a plain substring."""
    names = [info.name for info in table.table_scenarios("pagelock")]
    assert names == ["thp.pagelock.old-loop-kill", "thp.pagelock.handoff",
                     "thp.pagelock.hybrid-kill"]
    assert [i.name for i in table.table_scenarios("thp.split.*-unfreeze")] == [
        "thp.split.tail-flags-after-unfreeze", "thp.split.tail-flags-before-unfreeze"]
