"""bpo-31783: ``ThreadPoolExecutor.submit`` raced with the interpreter's exit hook (CPython 3.7).

``submit`` checks the module's ``_shutdown`` flag under the executor's own lock, but
``_python_exit`` (run at interpreter exit) sets the flag and copies the table of workers to
join without that lock. A ``submit`` that passed the check before the flag was set then starts
a worker the exit hook never joins, and its job is lost when the interpreter ends. The vendored
3.7.16 ``concurrent/futures/thread.py`` is the buggy one; 3.9.18 holds ``_global_shutdown_lock``
in both places. See ``executor_shutdown/README.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import ModuleType

import pytest
from realworld.executor_shutdown.py37 import thread as thread_37
from realworld.executor_shutdown.py39 import thread as thread_39
from schedfuzz.explore import Budget, explore
from schedfuzz.threads import as_scenario, model

BUGGY = ("realworld.executor_shutdown.py37.thread",)
FIXED = ("realworld.executor_shutdown.py39.thread",)


@pytest.fixture(autouse=True, scope="module")
def _no_workers_left_for_the_real_exit_hooks() -> Iterator[None]:
    """Both modules registered their ``_python_exit`` with this interpreter at import; leave
    them no thread of an explored run to join."""
    yield
    for module in (thread_37, thread_39):
        module._threads_queues.clear()


def _submit_during_exit(thread: ModuleType) -> None:
    """A thread submits a job while the main thread runs the exit hook; a job that ``submit``
    accepted must be done once the hook has returned (the interpreter ends right after)."""
    thread._shutdown = False  # a fresh interpreter in every run
    thread._threads_queues.clear()
    executor = thread.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pool")
    accepted = []

    def submitter() -> None:
        try:
            accepted.append(executor.submit(pow, 2, 10))
        except RuntimeError:
            pass  # "cannot schedule new futures after interpreter shutdown": refused, fine

    t = threading.Thread(target=submitter, name="submitter")
    t.start()
    thread._python_exit()  # what the interpreter runs at exit
    t.join()
    try:
        for future in accepted:
            assert future.done(), "a job that submit() accepted was pending after the exit hook"
    finally:
        thread._threads_queues.clear()


def executor_shutdown_37() -> None:
    _submit_during_exit(thread_37)


def executor_shutdown_39() -> None:
    _submit_during_exit(thread_39)


def test_dfs_finds_the_race_at_two_preemptions() -> None:
    report = explore(as_scenario(executor_shutdown_37, preempt_in=BUGGY), engine_name="dfs",
                     budget=Budget(max_preemptions=2, max_schedules=500))
    assert report.verdict == "failure"
    assert isinstance(report.outcome.error, AssertionError)
    assert "pending after the exit hook" in str(report.outcome.error)
    # One to let the submitter run before the exit hook, one inside submit() after its check.
    assert report.outcome.result.preemptions == 2
    assert report.first_failure[0] <= 100


def test_the_fixed_version_is_proved_within_two_preemptions() -> None:
    report = model(executor_shutdown_39, max_preemptions=2, max_schedules=5_000,
                   preempt_in=FIXED)
    assert report.proof == "bounded"
    assert report.stats["verified_preemptions"] == 2


def test_random_and_hypothesis_find_it_within_three_hundred_schedules() -> None:
    for engine in ("random", "hypothesis"):
        report = explore(as_scenario(executor_shutdown_37, preempt_in=BUGGY),
                         engine_name=engine, budget=Budget(max_schedules=300, seed=1))
        assert report.verdict == "failure", engine
        assert report.outcome.result.preemptions == 2, engine
