"""Shared test configuration: Hypothesis profiles for CI and local runs, and test order.

CI runs are derandomized and keep no example database, so a CI failure reproduces from the log
alone. HypoFuzz skips such a test: it fuzzes only tests that draw at random and use the default
database, where it keeps its corpus and the failures it finds. So under ``hypothesis fuzz`` the
local profile applies even where ``CI`` is set.
"""

from __future__ import annotations

import os
import sys

from hypothesis import HealthCheck, settings

import pytest


def _under_hypofuzz() -> bool:
    """Is HypoFuzz collecting or fuzzing these tests?

    ``hypothesis fuzz`` imports ``hypofuzz.detection`` and sets its flag before pytest loads
    this file, in the main process and in every worker; looking in ``sys.modules`` costs an
    ordinary run nothing and needs no HypoFuzz installed.
    """
    detection = sys.modules.get("hypofuzz.detection")
    return detection is not None and bool(detection.in_hypofuzz_run())


settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Hypothesis itself loads its built-in "ci" profile on import when it sees a CI server, and a
# profile inherits from whatever profile is loaded: without the explicit parent, "dev" would
# be derandomized there too.
settings.register_profile("dev", parent=settings.get_profile("default"), deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") and not _under_hypofuzz() else "dev")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the few tests marked ``heavy`` (minutes each) first, one per half of the list.

    ``pytest -n auto --dist worksteal`` gives each worker a contiguous half of the items and lets
    an idle worker take pending ones from a busy one. With the heavy tests at the head of the
    halves, each worker starts on one at once, and the light tests fill the gaps around them.
    """
    heavy = [item for item in items if item.get_closest_marker("heavy") is not None]
    if not heavy:
        return
    light = [item for item in items if item.get_closest_marker("heavy") is None]
    half = (len(heavy) + 1) // 2
    middle = max(0, len(items) // 2 - half)
    items[:] = heavy[:half] + light[:middle] + heavy[half:] + light[middle:]
