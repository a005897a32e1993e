"""Same decisions, same trace: across runs, processes and PYTHONHASHSEED values."""

from __future__ import annotations

import os
import subprocess
import sys

import schedfuzz as sf

SCRIPT = r"""
import schedfuzz as sf
for name, sched in [("demo.abba", "sf1.AQMAAAEA"), ("demo.polite-livelock", "{polite}"),
                    ("demo.lost-update", "sf1.AQMAAAEA"), ("demo.spin-wait", "sf1.AQAA")]:
    o = sf.run(name, schedule=sched)
    print(name, o.kind, o.schedule.encode())
    print("\n".join(o.result.trace.lines()))
    print(sf.explain(o))
"""


def polite_schedule() -> str:
    script = sf.ScriptOracle(["alice", "alice", "bob", "bob", "alice", "bob"], repeat_from=4)
    return sf.run("demo.polite-livelock", oracle=script).schedule.encode()


def test_same_schedule_gives_identical_traces_in_one_process() -> None:
    for seed in range(5):
        a = sf.run("demo.polite-livelock", oracle=sf.RandomOracle(seed),
                   settings=sf.Settings(max_steps=300))
        b = sf.run("demo.polite-livelock", schedule=a.schedule,
                   settings=sf.Settings(max_steps=300))
        assert a.result.trace.lines() == b.result.trace.lines()
        assert a.kind == b.kind


def test_two_processes_with_different_hash_seeds_print_byte_identical_traces() -> None:
    code = SCRIPT.replace("{polite}", polite_schedule())
    outputs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              check=True)
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert b"livelock" in outputs[0]
    assert b"deadlock" in outputs[0]
