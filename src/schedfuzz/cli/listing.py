"""``schedfuzz list``: the registered scenarios, their parameters and expected verdicts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schedfuzz.cli.common import dump

if TYPE_CHECKING:
    import argparse

__all__ = ["run_list"]


def run_list(args: argparse.Namespace) -> int:
    """Print one aligned row per scenario (or one JSON array with ``--json``); always exits 0."""
    from schedfuzz.scenario import registry

    infos = list(registry().values())
    if args.json:
        print(dump([{"name": i.name, "ref": i.ref, "expect": i.expect, "params": i.params,
                     "description": i.description} for i in infos]))
        return 0
    rows = []
    for info in infos:
        params = ", ".join(f"{k}={v!r}" for k, v in info.params.items())
        rows.append((info.name + (f" ({params})" if params else ""), info.expect or "-",
                     info.description))
    first = max((len(r[0]) for r in rows), default=0)
    for name, expect, description in rows:
        print(f"{name:<{first}}  {expect:<13}  {description}".rstrip())
    return 0
