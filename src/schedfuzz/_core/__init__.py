"""The engine: private, self-contained, and never importing hypothesis or pytest.

Layering, bottom up (a module imports only those above it in this list):

    actor       Actor and Block records, ActorState
    traps       the only functions that switch an actor to the scheduler (checkpoint, park, ...)
    waitqueue   the one park/unpark structure every blocking primitive is built on
    trace       per-step records and the per-actor table
    fingerprint state freezing and lasso (livelock) detection
    oracle      the decision sources the runner asks
    wakeprobe   resuming a stuck sleeper with a wake-up: would it go on?
    detect      classifying a stuck run: deadlock, missed wakeup, hang
    watchdog    stopping a runaway actor
    runner      the run loop
"""
