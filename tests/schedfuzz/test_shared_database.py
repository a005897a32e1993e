"""A reproducer found on one machine reaches another through a shared Hypothesis database.

Two separate Python processes stand for two machines: they share nothing but a real Redis
server, which this test starts on a free port of 127.0.0.1 (``redis-server`` on PATH and the
``redis`` package are needed; otherwise the test is skipped and says why). The first process
searches and fails; Hypothesis saves the failing schedule in Redis. The second may only *reuse*
saved examples (no generation), so it fails only if the schedule came through the database; a
third, against an emptied database, has nothing to run.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MACHINE = textwrap.dedent('''
    """One machine: run the @fuzz test of demo.abba against the shared Redis database."""
    import sys
    import unittest

    import redis
    from hypothesis import Phase, settings
    from hypothesis.extra.redis import RedisExampleDatabase

    import schedfuzz
    from schedfuzz.fuzz import fuzz

    port, mode = int(sys.argv[1]), sys.argv[2]
    database = RedisExampleDatabase(redis.Redis(host="127.0.0.1", port=port))
    phases = [Phase.reuse] if mode == "reuse" else [Phase.reuse, Phase.generate, Phase.shrink]


    # No @seed and no derandomize: either turns the database off.
    @settings(database=database, phases=phases, max_examples=300, derandomize=False)
    @fuzz("demo.abba")
    def test_abba_never_deadlocks():
        pass


    try:
        test_abba_never_deadlocks()
    except schedfuzz.Deadlock:
        print("DEADLOCK")
        sys.exit(3)
    except unittest.SkipTest:  # reuse only, and the database held nothing to reuse
        print("NOTHING TO REUSE")
        sys.exit(4)
    print("PASSED")
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on PATH (Debian package redis-server)")
    redis = pytest.importorskip("redis", reason="the redis package is not installed")
    for _ in range(5):  # the port may be taken between probing and binding: try another
        port = _free_port()
        proc = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        else:
            proc.kill()
            proc.wait()
            continue
        try:
            yield port
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=10)
        return
    pytest.skip("could not start redis-server on a free port of 127.0.0.1")


def _machine(script: Path, port: int, mode: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cwd.mkdir()
    return subprocess.run([sys.executable, str(script), str(port), mode], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_reproducer_travels_through_redis(redis_port: int, tmp_path: Path) -> None:
    import redis

    script = tmp_path / "machine.py"
    script.write_text(MACHINE)
    first = _machine(script, redis_port, "search", tmp_path / "a")
    assert first.returncode == 3, first.stdout + first.stderr
    assert redis.Redis(host="127.0.0.1", port=redis_port).dbsize() > 0  # something was saved

    second = _machine(script, redis_port, "reuse", tmp_path / "b")
    assert second.returncode == 3, second.stdout + second.stderr
    assert "DEADLOCK" in second.stdout

    redis.Redis(host="127.0.0.1", port=redis_port).flushall()
    third = _machine(script, redis_port, "reuse", tmp_path / "c")
    assert third.returncode == 4, third.stdout + third.stderr
    assert "NOTHING TO REUSE" in third.stdout
