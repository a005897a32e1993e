"""The README's guide runs as written: its scenario fails as shown, with the trace it prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

from schedfuzz.explore import Budget, explore

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_two_setup_commands_are_on_the_first_screen() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:40])
    assert "python3 -m thpmodel" in first_screen
    assert "python3 -m pytest" in first_screen


def test_first_example_is_an_unmodified_threaded_test_that_fails_as_described() -> None:
    namespace: dict[str, object] = {"__name__": "readme_threads"}
    exec(blocks("python")[0], namespace)  # plain threading code, plus one decorator line
    assert "schedfuzz" not in blocks("python")[0].split("class Account")[1].split("@")[0]
    test = namespace["test_two_tellers_never_overdraw"]
    info = test.__schedfuzz_scenario__  # type: ignore[attr-defined]
    report = explore(info, engine_name="dfs", budget=Budget(max_preemptions=2))
    assert report.verdict == "failure"
    assert report.outcome is not None
    assert report.outcome.result.preemptions == 1
    assert str(report.outcome.error).startswith("balance -60")
    assert "AssertionError: balance -60" in README.read_text()
    assert set(report.outcome.result.trace.names) == {"MainThread", "teller-0", "teller-1"}


def test_guide_scenario_fails_with_the_trace_the_readme_shows() -> None:
    namespace: dict[str, object] = {"__name__": "readme_guide"}
    exec(blocks("python")[1], namespace)  # the scenario, registered as bank.transfer
    report = explore("bank.transfer", budget=Budget(max_schedules=300, seed=0))
    assert report.verdict == "failure"
    assert report.outcome is not None
    assert report.outcome.result.preemptions == 1
    shown = re.findall(r"```\n(AssertionError.*?)```", README.read_text(), flags=re.DOTALL)[0]
    table = report.outcome.result.trace.table()
    for line in table.splitlines():
        assert line.rstrip() in shown, line
    assert "AssertionError: total is 190" in shown
    assert str(report.outcome.error) == "total is 190"


def test_thp_table_shows_the_committed_reproducers() -> None:
    """The last column of the thpmodel table is what ``corpus/`` holds for each scenario."""
    corpus = {}
    for path in (README.parent / "corpus").glob("thp.*.json"):
        data = json.loads(path.read_text())
        corpus[data["scenario"]] = (data["steps"], data["preemptions"])
    rows = re.findall(r"^\| (thp\.[\w.-]+) \|.*\| (\d+) / (\d+) \|$", README.read_text(),
                      flags=re.MULTILINE)
    assert len(rows) == len(corpus)
    for name, steps, preemptions in rows:
        assert corpus[name] == (int(steps), int(preemptions)), name
