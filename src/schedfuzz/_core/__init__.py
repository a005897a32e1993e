"""The engine: private, self-contained, and never importing hypothesis or pytest.

Layering, bottom up (a module imports only those above it in this list):

    clock       the one time source of budgets (replaceable in tests)
    codekey     the name of a code object, the same in every process
    framestack  the value stack of a suspended frame
    freeze      values as hashable images compared by content, or Inexact
    moduleglobals  the module globals an actor's code touches, pinned while unchanged
    actor       Actor and Block records, ActorState
    waitqueue   the one park/unpark structure every blocking primitive is built on
    trace       per-step records and the per-actor table
    fingerprint actors' positions, the state outline, and lasso (livelock) detection
    oracle      the decision sources the runner asks
    wakeprobe   resuming a stuck sleeper with a wake-up: would it go on?
    detect      classifying a stuck run: deadlock, missed wakeup, hang
    watchdog    stopping a runaway actor
    runner      the run loop

``freeze`` and ``moduleglobals`` recurse into each other (a function's image holds the globals
it reads; a global's value is frozen like any other): ``moduleglobals`` installs its part in
``freeze`` when it loads, which is why loading this package loads it.
"""

from schedfuzz._core import moduleglobals as _moduleglobals  # noqa: F401  # see above
