"""The registered thpmodel scenarios: the seed mail's question and the known bugs, as races.

Every scenario works on one file whose page cache holds one THP of ``NR_SUBPAGES`` (4) pages
at index 0 (16 data units), and punches the units [6, 11] out of it (half of subpage 1, all of
subpage 2) unless it says otherwise. ``_truncate_race`` builds any mix of the actors of spec
8.4 around one of the truncate variants; each registered name is a small wrapper that fixes the
mix and keeps the interesting knobs as keyword parameters with defaults::

    schedfuzz.run("thp.retry.fault-loop", oracle=RandomOracle(1))            # livelock
    schedfuzz.run("thp.retry.fault-loop", oracle=RandomOracle(1), faults=2)  # ok

Expected verdicts (``expect=``) are those of the research notes (spec 8.5), checked by the
scenario table (``python -m thpmodel``), except where the model showed the notes wrong
(``thp.retry.drop-wait``: see its docstring); ``None`` marks an open question.
"""

from __future__ import annotations

from typing import Any

import schedfuzz
from schedfuzz import scenario, spawn
from thpmodel.actors import (
    faulter,
    gup_pinner,
    killer,
    locker,
    migrator,
    pfn_walker,
    reader,
    writeback_ender,
    writer,
)
from thpmodel.invariants import check_step, quiescent
from thpmodel.page import NR_SUBPAGES, UNITS
from thpmodel.truncate import shmem_undo_range, truncate_inode_pages_range, truncate_retry
from thpmodel.world import Config, World

__all__ = ["LEND", "LSTART", "make_world"]

LSTART, LEND = 6, 11  # the punched units: half of subpage 1, all of subpage 2
VARIANTS = ("retry", "splitwait", "c17", "c57")
# Fingerprint from the first step: for cycles a random schedule enters but soon leaves.
EAGER = schedfuzz.Settings(lasso_after=0, lasso_every=1)


def make_world(config: Config | None = None, *, dirty: bool = True, writeback: bool = False,
               thp: bool = True) -> World:
    """A World with one THP (or one small page) at index 0, declared to the engine: its state
    is the livelock snapshot, ``check_step`` runs after every step, ``quiescent`` at the end."""
    world = World(config or Config())
    if thp:
        world.add_thp(0, dirty=dirty, writeback=writeback)
    else:
        world.add_small_page(0, "page")
    schedfuzz.snapshot(lambda: world)

    def thp_invariants() -> None:
        check_step(world)

    def thp_quiescent() -> None:
        quiescent(world)

    schedfuzz.invariant(thp_invariants)
    schedfuzz.at_end(thp_quiescent)
    return world


def _truncate_race(*, variant: str, config: Config | None = None, self_ref: int = 1,
                   lock_style: str = "hold", set_size: bool = False, dirty: bool = True,
                   writer_at: int | None = None, faults: int | None = 0, around: bool = False,
                   read: str = "none", reads: int | None = 1, gups: int = 0,
                   gup_hold: int | None = 2, gup_pinned: bool = False, migrate: bool = False,
                   writeback: bool = False,
                   walker_pfn: int | None = None, kill: bool = False) -> World:
    """Spawn the truncate (``variant``) first, then the other actors asked for.

    Args:
        variant: ``retry`` (a), ``splitwait`` (b), ``c17`` or ``c57`` (c).
        self_ref: references the truncate holds on the THP (Kirill's self-reference if > 1).
        lock_style: ``hold`` (lock_page holding the reference) or ``drop`` (DROP waits).
        set_size: a truncate to ``LSTART`` (tails beyond the new EOF) instead of a hole punch.
        writer_at: index of a second writer that retries its own split (None: no writer).
        faults: 0: no faulter; n: fault and unmap n times; None: until the truncate is done.
        around: the faulter uses fault-around (trylock) instead of a blocking fault.
        read: ``none``, ``lock``, ``nolock`` or ``drop`` (how the reader waits for the lock).
        reads: the reader's loop count (None: until the truncate is done).
        gups: number of GUP pinners, each holding for ``gup_hold`` steps (None: forever);
            with ``gup_pinned`` their pins are already taken when the run starts.
        migrate: a migration/reclaim isolator on the head's pfn.
        writeback: the THP starts under writeback, ended by a completion actor.
        walker_pfn: a pfn walker that locks this struct page once it is in use.
        kill: a killable locker and a killer that signals it.
    """
    if variant not in VARIANTS:
        msg = f"variant={variant!r} is not one of {', '.join(VARIANTS)}"
        raise schedfuzz.InvalidArgument(msg)
    world = make_world(config, dirty=dirty, writeback=writeback)
    if variant in ("retry", "splitwait"):
        spawn(truncate_retry, world, LSTART, LEND, self_ref=self_ref, lock_style=lock_style,
              wait_split=variant == "splitwait", name="truncate")
    elif variant == "c17":
        lend = NR_SUBPAGES * UNITS - 1 if set_size else LEND
        spawn(truncate_inode_pages_range, world, LSTART, lend, self_ref=self_ref,
              set_size=set_size, name="truncate")
    else:
        spawn(shmem_undo_range, world, LSTART, LEND, self_ref=self_ref, name="truncate")
    if writer_at is not None:
        spawn(writer, world, writer_at, lock_style=lock_style, name="writer")
    if faults != 0:
        spawn(faulter, world, 0, loops=faults, around=around, name="faulter")
    if read != "none":
        spawn(reader, world, 1, loops=reads, lock=read == "lock", drop=read == "drop",
              name="reader")
    for i in range(gups):
        gup = spawn(gup_pinner, world, 3, hold=gup_hold, pinned=gup_pinned,
                    name=f"gup{i + 1}" if gups > 1 else "gup")
        if gup_pinned:
            world.pages[0].refcount += 1
            world.pages[0].hold(gup.name, 1, gup)
    if migrate:
        spawn(migrator, world, 0, name="migrate")
    if writeback:
        wb = spawn(writeback_ender, world, 0, name="wb_end")
        world.pages[0].writeback_owner = wb
    if walker_pfn is not None:
        spawn(pfn_walker, world, walker_pfn, name="pfn_walker")
    if kill:
        target = spawn(locker, world, 0, killable=True, name="locker")
        spawn(killer, world, [target], name="killer")
    return world


# -- (a) the retry loop of the seed mail -----------------------------------------------------

@scenario("thp.retry.self-ref", expect="livelock",
          description="(a) retry loop, the truncate holds 2 references itself: Kirill's "
                      "endless loop")
def retry_self_ref(self_ref: int = 2) -> None:
    _truncate_race(variant="retry", self_ref=self_ref)


@scenario("thp.retry.two-writers", expect="livelock",
          description="(a) truncate and a second writer both retry their split: each one's "
                      "reference makes the other's split fail")
def retry_two_writers(lock_algo: str = "hybrid") -> None:
    _truncate_race(variant="retry", config=Config(lock_algo=lock_algo), writer_at=3)


@scenario("thp.retry.fault-loop", expect="livelock",
          description="(a) retry loop against a task that keeps faulting the THP in and "
                      "unmapping it")
def retry_fault_loop(faults: int | None = None, around: bool = False) -> None:
    _truncate_race(variant="retry", faults=faults, around=around)


@scenario("thp.retry.fault-finite", expect="ok",
          description="(a) retry loop against a faulter that maps the THP twice: terminates")
def retry_fault_finite(faults: int = 2) -> None:
    _truncate_race(variant="retry", faults=faults)


@scenario("thp.retry.drop-wait", expect="livelock", settings=EAGER,
          description="(a) truncate and a second writer that retry, all lock waits "
                      "dropping the reference: the reference taken between lookup and "
                      "trylock still fails the other's split, round after round")
def retry_drop_wait(lock_algo: str = "hybrid") -> None:
    """Spec 8.7 item 4 expected this to terminate ("a waiter holds no ref while it sleeps").
    It does under random scheduling, but a fair 18-step cycle remains: the writer holds the
    lock, the truncate's lookup reference fails its split, the truncate drops it and sleeps,
    the writer unlocks (waking it), retries, and the truncate's next lookup lands before the
    writer's next can_split_huge_page. The cycle is short-lived under a random scheduler, so
    fingerprinting starts at step 0 here (``EAGER``)."""
    _truncate_race(variant="retry", config=Config(lock_algo=lock_algo), writer_at=3,
                   lock_style="drop")


@scenario("thp.retry.longterm-pin", expect="livelock",
          description="(a) retry loop against a long-term GUP pin taken before: busy retry "
                      "forever")
def retry_longterm_pin() -> None:
    world = _truncate_race(variant="retry")
    head = world.pages[0]
    head.refcount += 1  # pin_user_pages(FOLL_LONGTERM) by an RDMA driver, never released
    head.hold("rdma-pin")


# -- (b) split_huge_page_wait with the compound destructor ----------------------------------

@scenario("thp.splitwait.self-ref", expect="hang",
          description="(b) the split_huge_page_wait caller holds 2 references: it sleeps "
                      "forever")
def splitwait_self_ref(self_ref: int = 2) -> None:
    _truncate_race(variant="splitwait", self_ref=self_ref)


@scenario("thp.splitwait.set1", expect="failure",
          description="(b) 'sets page refcount to 1' taken literally, with two GUP pins: "
                      "split while pinned")
def splitwait_set1(gups: int = 2, gup_hold: int = 32) -> None:
    _truncate_race(variant="splitwait", config=Config(bias="SET1"), gups=gups,
                   gup_hold=gup_hold)


@scenario("thp.splitwait.sub1", expect="hang",
          description="(b) the refcount reduced by one: the page cache's pins keep it above "
                      "zero, the waiter never wakes")
def splitwait_sub1() -> None:
    _truncate_race(variant="splitwait", config=Config(bias="SUB1"), gups=1)


@scenario("thp.splitwait.hold-lock", expect="deadlock",
          description="(b) the waiter sleeps holding the page lock; a reader waits for that "
                      "lock holding a reference")
def splitwait_hold_lock() -> None:
    _truncate_race(variant="splitwait", read="lock")


@scenario("thp.splitwait.bias-before-enqueue", expect="missed_wakeup",
          description="(b) dtor set and refcount biased before the waiter enqueues: the "
                      "destructor wakes an empty queue")
def splitwait_bias_before_enqueue() -> None:
    _truncate_race(variant="splitwait", config=Config(order=("dtor", "bias", "enqueue")),
                   gups=1)


@scenario("thp.splitwait.waiters-waker", expect="missed_wakeup",
          description="(b) the destructor wakes with wake_up_page(), but __page_cache_release "
                      "cleared PG_waiters on the way")
def splitwait_waiters_waker(check_waiters: bool = False) -> None:
    _truncate_race(variant="splitwait",
                   config=Config(waker="wake_up_page", check_waiters=check_waiters), gups=1)


@scenario("thp.splitwait.coherent", expect="ok",
          description="(b) the coherent reading (unmap, enqueue, dtor, subtract 1+N+mapcount, "
                      "unconditional wake) with holders that never lock")
def splitwait_coherent() -> None:
    _truncate_race(variant="splitwait", gups=1, read="nolock", faults=1, around=True)


# -- (c) upstream: zero the range, split once -----------------------------------------------

_ALL_ACTORS: dict[str, Any] = {"writer_at": 3, "faults": 1, "read": "lock", "gups": 1,
                               "migrate": True, "writeback": True}
_NO_ACTORS: dict[str, Any] = {"writer_at": None, "faults": 0, "read": "none", "gups": 0,
                              "migrate": False, "writeback": False}
_ACTOR_KNOBS = {"writer": "writer_at", "faulter": "faults", "reader": "read", "gup": "gups",
                "migrate": "migrate", "wb_end": "writeback"}


def _actor_mix(actors: str) -> dict[str, Any]:
    """The actors besides the truncate: ``"all"``, or a comma list such as ``"writer,gup"``
    (a smaller mix keeps an exhaustive search within reach)."""
    if actors == "all":
        return dict(_ALL_ACTORS)
    mix = dict(_NO_ACTORS)
    for name in filter(None, (a.strip() for a in actors.split(","))):
        knob = _ACTOR_KNOBS.get(name)
        if knob is None:
            msg = (f"actors={actors!r}: unknown actor {name!r}; use 'all' or a comma list of "
                   f"{', '.join(_ACTOR_KNOBS)}")
            raise schedfuzz.InvalidArgument(msg)
        mix[knob] = _ALL_ACTORS[knob]
    return mix


@scenario("thp.upstream.c17", expect="ok",
          description="(c) v5.17 truncate_inode_partial_folio with every actor and the "
                      "self-reference")
def upstream_c17(self_ref: int = 2, dirty: bool = True, kill: bool = False,
                 lock_algo: str = "hybrid", actors: str = "all") -> None:
    _truncate_race(variant="c17", config=Config(lock_algo=lock_algo), self_ref=self_ref,
                   dirty=dirty, kill=kill, **_actor_mix(actors))


@scenario("thp.upstream.c57", expect="ok",
          description="(c) v5.7-v5.16 shmem_undo_range (wipe and don't get stuck) with every "
                      "actor and the self-reference")
def upstream_c57(self_ref: int = 2, kill: bool = False, lock_algo: str = "hybrid",
                 actors: str = "all") -> None:
    _truncate_race(variant="c57", config=Config(lock_algo=lock_algo), self_ref=self_ref,
                   kill=kill, **_actor_mix(actors))


# -- the page lock ----------------------------------------------------------------------------

def _lock_race(lock_algo: str, holder_loops: int = 2) -> None:
    """A lock holder (locking twice), a killable locker, a second locker and a killer for the
    killable one, on one small page. Each locker holds a reference from the start (it looked
    the page up before), so the trace is the lock alone."""
    world = make_world(Config(lock_algo=lock_algo), thp=False)
    page = world.pages[0]
    lockers = [spawn(locker, world, 0, loops=holder_loops, pinned=True, name="holder"),
               spawn(locker, world, 0, killable=True, pinned=True, name="killable"),
               spawn(locker, world, 0, pinned=True, name="locker")]
    for actor in lockers:
        page.refcount += 1
        page.hold(actor.name, 1, actor)
    spawn(killer, world, [lockers[1]], name="killer")


@scenario("thp.pagelock.old-loop-kill", expect="missed_wakeup",
          description="pre-5.9 wait loop: a killed locker absorbs the exclusive wake-up "
                      "(Oleg Nesterov, June 2020)")
def pagelock_old_loop_kill() -> None:
    _lock_race("old-loop")


@scenario("thp.pagelock.handoff", expect="ok",
          description="2a9127fcf229 lock hand-off: the same killable lockers, no lost wake-up")
def pagelock_handoff() -> None:
    _lock_race("handoff")


@scenario("thp.pagelock.hybrid-kill", expect=None,
          description="5.9/5.10 hybrid lock (unfairness 5) with a killed locker: the open "
                      "question of spec 5.2 item 5")
def pagelock_hybrid_kill(lock_algo: str = "hybrid") -> None:
    """The model finds a lost wake-up (2 preemptions): the killable waiter, queued without
    WQ_FLAG_CUSTOM (its first, unfair turn), sees its signal and leaves the wait loop; before
    its finish_wait the unlocker's walk marks it WOKEN (not DONE), dequeues it and counts it as
    the one exclusive wake-up; it returns -EINTR and the locker behind it sleeps forever with
    PG_locked clear. Hand-off (every entry CUSTOM) does not lose it: the waker takes the lock
    for the killed waiter, which then returns 0 holding it."""
    _lock_race(lock_algo)


# -- the split path's historical bugs ---------------------------------------------------------

@scenario("thp.split.tail-flags-after-unfreeze", expect="missed_wakeup",
          description="S23 (pre-605ca5ede764): tail flags cloned after its refcount is "
                      "unfrozen erase a pfn walker's PG_waiters")
def split_tail_flags_after_unfreeze(check_waiters: bool = False) -> None:
    _truncate_race(variant="c17", walker_pfn=2,
                   config=Config(s23_flags_after_unfreeze=True, check_waiters=check_waiters))


@scenario("thp.split.tail-flags-before-unfreeze", expect="ok",
          description="S23 fixed: flags cloned before the tail's refcount is unfrozen")
def split_tail_flags_before_unfreeze() -> None:
    _truncate_race(variant="c17", walker_pfn=2)


@scenario("thp.split.nonatomic-dirty-clear", expect="missed_wakeup",
          description="S24 (pre-2d077d4b5992): __ClearPageDirty of a tail beyond EOF erases "
                      "a pfn walker's PG_waiters")
def split_nonatomic_dirty_clear(check_waiters: bool = False) -> None:
    _truncate_race(variant="c17", set_size=True, walker_pfn=3,
                   config=Config(s24_nonatomic_dirty_clear=True, check_waiters=check_waiters))


@scenario("thp.split.atomic-dirty-clear", expect="ok",
          description="S24 fixed: ClearPageDirty of tails beyond EOF is atomic")
def split_atomic_dirty_clear() -> None:
    _truncate_race(variant="c17", set_size=True, walker_pfn=3)
