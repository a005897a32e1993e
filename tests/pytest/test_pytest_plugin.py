"""The pytest plugin: corpus files replay as test items, with one-line errors, a diff when the
program changed, the schedfuzz report section, options, the marker, xdist and junitxml; JSON
that is not a corpus file is left alone."""

from __future__ import annotations

import ast
import importlib
import json
import os
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from schedfuzz import RandomOracle, corpus, run

pytest_plugins = ["pytester"]

PLUGIN = Path(__file__).resolve().parents[2] / "src/schedfuzz/pytest_plugin.py"

BUGGY = textwrap.dedent("""
    from schedfuzz import AtomicInt, at_end, scenario, spawn

    @scenario()
    def lost_update():
        counter = AtomicInt(0, "counter")

        def increment():
            value = counter.load()
            counter.store(value + 1)

        for i in range(2):
            spawn(increment, name=f"inc{i}")

        @at_end
        def counted():
            assert counter.value == 2, f"counter is {counter.value}"
""")

# The fix: one atomic add instead of a load and a separate store.
FIXED = BUGGY.replace("value = counter.load()\n        counter.store(value + 1)",
                      "counter.add(1)")
# A change in the program's shape: a third actor.
THREE = BUGGY.replace("range(2)", "range(3)").replace("== 2", "== 3")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with strict pytest settings and the scenario module ``scen`` on sys.path, which
    corpus files may import."""
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        # pytest-benchmark, where installed, warns under xdist; that is not what is tested here.
        addopts = ["--strict-markers", "--strict-config", "-p", "no:cacheprovider",
                   "-p", "no:benchmark"]
        filterwarnings = ["error"]
        schedfuzz_allow_import = ["scen"]
    """)
    pytester.makepyfile(scen=BUGGY)
    pytester.syspathinsert()
    return pytester


def save_reproducer(folder: Path) -> Path:
    """Find the lost update in ``scen`` and save it to ``folder``."""
    fn = importlib.import_module("scen").lost_update
    for seed in range(100):
        outcome = run(fn, oracle=RandomOracle(seed))
        if outcome.failed:
            return corpus.save(outcome, folder)
    raise AssertionError("the lost update was not found")


def edit_scenario(pytester: pytest.Pytester, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rewrite ``scen.py`` and make the next import read the new text (and register anew)."""
    path = pytester.path / "scen.py"
    path.write_text(source)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # never reuse a stale .pyc
    monkeypatch.delitem(sys.modules, "scen", raising=False)
    registry = importlib.import_module("schedfuzz.scenario")._REGISTRY
    monkeypatch.delitem(registry, "scen:lost_update", raising=False)


def test_saved_reproducer_replays_as_a_passing_item(project: pytest.Pytester) -> None:
    """A saved reproducer is collected under corpus/ and passes while it reproduces."""
    path = save_reproducer(project.path / "corpus")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"corpus/{path.name}::replay PASSED*"])


def test_corrupt_file_fails_as_one_item_with_one_line(project: pytest.Pytester) -> None:
    """A corrupt file is one failed item whose report is the one-line message; others pass."""
    save_reproducer(project.path / "corpus")
    (project.path / "corpus/bad.json").write_text('{"format": "schedfuzz-corpus", "version": 2,'
                                                  ' "decisions": [0, 1')
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ schedfuzz corpus replay of bad.json _*",
        "corpus/bad.json: not JSON (Expecting ',' delimiter at line 1, column 64)",
        "*short test summary info*",
    ])
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "runtest" not in out
    assert "CorpusError" not in out


def test_fixed_scenario_fails_with_verdicts_and_diff(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the scenario no longer reproduces, the item fails with both verdicts, the first
    differing step, and the replayed run in a "schedfuzz" section."""
    path = save_reproducer(project.path / "corpus")
    edit_scenario(project, FIXED, monkeypatch)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"corpus/{path.name}: expected failure (AssertionError), got ok",
        "  recorded: AssertionError: counter is 1",
        "  trace differs from the recording first at step 1:",
        "  --- recorded",
        "  +++ replayed",
        "  @@ *",
        "       0 inc?: start",
        "  -    1 inc?: load(var=counter)",
        "  +    1 inc?: add(var=counter, delta=1)",
        "*-* schedfuzz -*",
        "ok: scen:lost_update finished in 4 steps",
    ])


def test_changed_program_shape_reports_divergence(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schedule that no longer fits the program fails naming the choice point."""
    path = save_reproducer(project.path / "corpus")
    edit_scenario(project, THREE, monkeypatch)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"corpus/{path.name}: expected failure (AssertionError), but the replay diverged at "
        "choice point 0: the recording had 2 enabled actors, the program now has 3",
    ])


def test_strict_option_requires_the_recorded_trace(project: pytest.Pytester) -> None:
    """A trace-only difference passes, and fails under --schedfuzz-strict with the diff."""
    path = save_reproducer(project.path / "corpus")
    text = path.read_text().replace('"    0 inc', '"    0 renamed-inc', 1)
    path.write_text(text)
    project.runpytest().assert_outcomes(passed=1)
    result = project.runpytest("--schedfuzz-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*reproduced failure (AssertionError) in 6 steps; the trace "
                                 "differs from the recording",
                                 "  trace differs from the recording first at step 0:"])


def test_corpus_files_are_collected_anywhere_and_other_json_is_not(
        project: pytest.Pytester) -> None:
    """A file whose format field says it is a corpus file is collected in any folder; JSON that
    is not, even in a folder named corpus, is ignored without a word."""
    save_reproducer(project.path / "tests/data")
    (project.path / "tests/data/unrelated.json").write_text('{"a": 1}')
    foreign = {
        "nlp.json": '{"text": "the corpus of a language model", "format": "jsonl"}',
        "array.json": '[{"format": "schedfuzz-corpus"}]',
        "seed.json": '\x00\xff{"format": "schedfuzz-corpus"}',
        "empty.json": "",
        "late.json": '{"padding": "' + "x" * 5000 + '", "format": "schedfuzz-corpus"}',
    }
    for name, text in foreign.items():
        (project.path / "corpus" / "libfuzzer").mkdir(parents=True, exist_ok=True)
        (project.path / "corpus" / "libfuzzer" / name).write_text(text, encoding="latin-1")
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["tests/data/scen_lost_update-failure-*.json::replay",
                                 "1 test collected*"])
    assert "corpus/libfuzzer" not in result.stdout.str()
    project.runpytest().assert_outcomes(passed=1)


def test_corrupt_corpus_file_among_foreign_json_is_one_failing_item(
        project: pytest.Pytester) -> None:
    """Under corpus/, a schedfuzz file that is corrupt fails as its own item in one line; the
    foreign JSON next to it is not collected; --schedfuzz-no-corpus skips corpus files."""
    save_reproducer(project.path / "corpus")
    (project.path / "corpus/data.json").write_text('{"tokens": [1, 2, 3]}')
    deep = '{"format": "schedfuzz-corpus", "version": 2, "params": ' + "[" * 100_000
    (project.path / "corpus/deep.json").write_text(deep + "]" * 100_000 + "}")
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ schedfuzz corpus replay of deep.json _*",
                                 "corpus/deep.json: nested deeper than 16 levels",
                                 "*short test summary info*"])
    assert "Traceback" not in result.stdout.str()
    assert "RecursionError" not in result.stdout.str()
    result = project.runpytest("--schedfuzz-no-corpus")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_file_naming_os_system_fails_and_runs_nothing(project: pytest.Pytester) -> None:
    """Under pytest too, a ref to an unregistered function is one failing line, and the
    command in its params never runs."""
    path = save_reproducer(project.path / "corpus")
    marker = project.path / "ran"
    data = json.loads(path.read_text())
    (project.path / "corpus/evil.json").write_text(json.dumps(
        {**data, "scenario": "os:system", "ref": "os:system",
         "params": {"command": f"touch {marker}"}}))
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["corpus/evil.json: field 'ref': 'os:system' is not a registered "
                                 "scenario (os.system does not carry the @schedfuzz.scenario "
                                 "marker)"])
    assert not marker.exists()


def test_xdist(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """With pytest -n 2 the corpus items run in the workers and report the same way."""
    save_reproducer(project.path / "corpus")
    save_reproducer(project.path / "corpus/more")
    (project.path / "corpus/bad.json").write_text('{"format": "schedfuzz-corpus"}')
    monkeypatch.setenv("PYTHONPATH", str(project.path), prepend=os.pathsep)
    result = project.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*corpus/bad.json: field 'version': unknown format version "
                                 "None*"])
    assert "Traceback" not in result.stdout.str()


def test_junitxml(project: pytest.Pytester) -> None:
    """--junitxml records corpus items: the failure message is the one-line error."""
    save_reproducer(project.path / "corpus")
    (project.path / "corpus/bad.json").write_text('{"format": "schedfuzz-corpus", "version": 9}')
    project.runpytest("--junitxml=out.xml").assert_outcomes(passed=1, failed=1)
    cases = {case.get("classname"): case
             for case in ET.parse(project.path / "out.xml").iter("testcase")}
    bad = cases["corpus.bad.json"]
    [failure] = bad.findall("failure")
    assert failure.get("message") == ("corpus/bad.json: field 'version': unknown format "
                                      "version 9; this schedfuzz reads versions 1, 2")
    assert sum(1 for case in cases.values() if not case.findall("failure")) == 1


def test_options_set_the_environment_for_the_run_only(
        project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """--schedfuzz-seed/-max-schedules/-save set SCHEDFUZZ_* during the run and restore them."""
    for var in ("SCHEDFUZZ_SEED", "SCHEDFUZZ_MAX_SCHEDULES", "SCHEDFUZZ_SAVE_DIR"):
        monkeypatch.delenv(var, raising=False)
    project.makepyfile(test_env="""
        import os

        def test_env():
            assert os.environ["SCHEDFUZZ_SEED"] == "7"
            assert os.environ["SCHEDFUZZ_MAX_SCHEDULES"] == "30"
            assert os.environ["SCHEDFUZZ_SAVE_DIR"] == os.path.abspath("saved")
    """)
    result = project.runpytest("--schedfuzz-seed", "7", "--schedfuzz-max-schedules", "30",
                               "--schedfuzz-save", "saved")
    result.assert_outcomes(passed=1)
    assert "SCHEDFUZZ_SEED" not in os.environ
    assert "SCHEDFUZZ_SAVE_DIR" not in os.environ


def test_fuzz_tests_are_keyed_by_node_id(project: pytest.Pytester) -> None:
    """A @fuzz test's database key is its node id, the key HypoFuzz saves its failures under, so
    a plain pytest run replays them (tests/scale/test_hypofuzz.py checks it end to end)."""
    project.makepyfile(test_keys="""
        from schedfuzz.fuzz import fuzz

        @fuzz("demo.spin-wait")
        def test_fuzzed():
            pass

        def test_key_is_the_node_id():
            inner = test_fuzzed.hypothesis.inner_test
            assert inner._hypothesis_internal_add_digest == b"test_keys.py::test_fuzzed"
    """)
    project.runpytest("--schedfuzz-max-schedules", "3").assert_outcomes(passed=2)


def test_bad_option_value_is_a_usage_error(project: pytest.Pytester) -> None:
    """A negative count is refused by the option parser with a one-line reason."""
    result = project.runpytest("--schedfuzz-max-schedules", "-3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--schedfuzz-max-schedules: expected a non-negative integer, "
                                 "got '-3'"])


def test_marker_and_help(project: pytest.Pytester) -> None:
    """The schedfuzz marker is registered (strict markers accept it and -m selects corpus
    items); the options are listed in one group."""
    save_reproducer(project.path / "corpus")
    project.makepyfile(test_marked="""
        import pytest

        @pytest.mark.schedfuzz
        def test_marked():
            pass

        def test_plain():
            pass
    """)
    project.runpytest("-m", "schedfuzz").assert_outcomes(passed=2, deselected=1)
    result = project.runpytest("--help")
    result.stdout.fnmatch_lines(["schedfuzz concurrency fuzzing:", "*--schedfuzz-seed=N*",
                                 "*--schedfuzz-save=DIR*"])


def test_plugin_module_imports_only_pytest_and_the_stdlib() -> None:
    """The plugin is loaded by every pytest run: its top level imports nothing heavy."""
    tree = ast.parse(PLUGIN.read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top.add(node.module.split(".")[0])
    assert top - set(sys.stdlib_module_names) == {"pytest"}
