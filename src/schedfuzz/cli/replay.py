"""``schedfuzz replay`` (corpus files) and ``schedfuzz replay-one`` (one encoded schedule).

``replay`` runs every corpus file under its paths and compares each run with its recording:
exit 0 when all give their expected verdict, 1 when one differs, 2 when one cannot be read or
names no registered scenario (the other files still run, and 2 wins over 1). A file's ``ref`` may
import a module only if ``--allow-import`` names it (``corpus.trust``). ``--update`` re-records a
file whose replay differs but still fits the program. ``replay-one`` runs a scenario under an
``sf1:...`` schedule, as printed in a failure's replay line, explains it, and exits 1 when it
fails.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from schedfuzz.cli.common import check_save_dir, dump, parse_params, scenario_of

if TYPE_CHECKING:
    import argparse

    from schedfuzz.execute import Outcome

__all__ = ["run_replay", "run_replay_one"]


def run_replay(args: argparse.Namespace) -> int:
    """Run ``replay`` with the parsed ``args``; returns the exit code."""
    from schedfuzz import corpus
    from schedfuzz.errors import CorpusError

    rows: list[dict[str, Any]] = []
    code = 0
    for path, replayed in corpus.replay_all(args.paths, allow_import=args.allow_import):
        if isinstance(replayed, CorpusError):
            print(f"schedfuzz replay: {replayed}", file=sys.stderr)
            rows.append({"path": str(path), "status": "error", "error": str(replayed)})
            code = 2
            continue
        passed = replayed.passed(strict=args.strict)
        entry = replayed.entry
        row: dict[str, Any] = {
            "path": str(path), "status": "reproduced" if passed else "differs",
            "scenario": entry.info.name, "expected": entry.verdict, "verdict": replayed.verdict,
            "expected_proved": entry.proved, "proved": replayed.proved,
            "diverged": replayed.diverged, "trace_matches": not replayed.diff,
            "summary": replayed.summary(),
        }
        if not passed and args.update:
            row["updated"] = _update(replayed)
        rows.append(row)
        if not passed:
            code = max(code, 1)
        if not args.json:
            mark = "ok  " if passed else "FAIL"
            if args.quiet:
                print(f"{mark} {replayed.summary()}")
                if not passed and replayed.diff:
                    print("\n".join("     " + line for line in replayed.diff))
            else:
                print(f"{mark} {replayed.report()}\n")
            if row.get("updated"):
                print(f"     updated: {row['updated']}")
    if args.json:
        counts = {s: sum(1 for r in rows if r["status"] == s)
                  for s in ("reproduced", "differs", "error")}
        print(dump({"files": rows, **counts}))
    elif not rows:
        print("no corpus files found", file=sys.stderr)
    else:
        bad = sum(1 for r in rows if r["status"] != "reproduced")
        print(f"{len(rows) - bad} of {len(rows)} corpus files gave their expected verdict")
    return code


def _update(replayed: Any) -> str | None:
    """Re-record a file whose replay differs (not one that diverged: that needs a new search)."""
    from schedfuzz import corpus

    entry = replayed.entry
    if replayed.outcome is None or replayed.diverged is not None or entry.path is None:
        return None
    new = corpus.save(replayed.outcome, entry.path.parent)
    if new != entry.path:
        entry.path.unlink(missing_ok=True)
    return str(new)


def run_replay_one(args: argparse.Namespace) -> int:
    """Run ``replay-one`` with the parsed ``args``; returns the exit code."""
    from schedfuzz import corpus
    from schedfuzz.execute import explain, run
    from schedfuzz.schedule import Schedule

    info = scenario_of(args)
    params = parse_params(args.param)
    info.check_params(params)
    check_save_dir(args.save)
    schedule = Schedule.decode(args.schedule)
    outcome = run(info, schedule=schedule, **params)
    saved = corpus.save(outcome, args.save) if args.save is not None else None
    if args.json:
        print(dump(_outcome_json(outcome, saved)))
    else:
        print(explain(outcome))
        if saved is not None:
            print(f"saved: {saved}")
    return 1 if outcome.failed else 0


def _outcome_json(outcome: Outcome, saved: Any) -> dict[str, Any]:
    result = outcome.result
    return {
        "scenario": outcome.info.name, "params": outcome.params, "verdict": result.kind,
        "error": None if result.error is None else type(result.error).__name__,
        "steps": result.steps, "preemptions": result.preemptions,
        "schedule": outcome.schedule.encode(), "trace": result.trace.lines(),
        "saved": None if saved is None else str(saved),
    }
