"""The page lock: trylock_page, lock_page, unlock_page (include/linux/pagemap.h, mm/filemap.c).

``PG_locked`` lives on the head page (``PF_NO_TAIL``): locking any subpage of a THP locks the
head. The slow path is ``wait_on_page_bit_common`` in ``pagewait.py``; ``unlock_page`` clears the
bit and reads PG_waiters in one atomic step (``clear_bit_unlock_is_negative_byte``) and only
then walks the wait table, which is why a PG_waiters lost to a plain read-modify-write loses the
wake-up with it.
"""

from __future__ import annotations

from schedfuzz import checkpoint
from thpmodel.page import InvariantViolation, Page, PG_locked, PG_waiters, compound_head
from thpmodel.pagewait import DROP, EXCLUSIVE, take_bit, wait_on_page_bit_common, wake_up_page_bit
from thpmodel.refcount import check_alive
from thpmodel.world import World, show

__all__ = [
    "lock_page",
    "lock_page_killable",
    "put_and_wait_on_page_locked",
    "trylock_page",
    "unlock_page",
]


def trylock_page(world: World, page: Page) -> bool:
    """trylock_page(): ``test_and_set_bit_lock(PG_locked)`` on the head."""
    head = compound_head(page)
    checkpoint("trylock_page", page=head.name)
    check_alive(head, "trylock_page")
    if head.flags & PG_locked:
        owner = head.lock_owner
        show(result=f"busy ({owner.name if owner is not None else '?'})")
        return False
    take_bit(head, PG_locked, world.task().actor)
    world.touch(head)
    show(result="locked")
    return True


def lock_page(world: World, page: Page) -> None:
    """lock_page(): trylock, else __lock_page() (TASK_UNINTERRUPTIBLE, EXCLUSIVE)."""
    if not trylock_page(world, page):
        wait_on_page_bit_common(world, compound_head(page), PG_locked, killable=False,
                                behavior=EXCLUSIVE)


def lock_page_killable(world: World, page: Page) -> int:
    """lock_page_killable(): 0 with the lock held, or -EINTR after a fatal signal."""
    if trylock_page(world, page):
        return 0
    return wait_on_page_bit_common(world, compound_head(page), PG_locked, killable=True,
                                   behavior=EXCLUSIVE)


def put_and_wait_on_page_locked(world: World, page: Page) -> None:
    """put_and_wait_on_page_locked(): the DROP wait (9a1ea439b16b): no reference while asleep."""
    wait_on_page_bit_common(world, compound_head(page), PG_locked, killable=False, behavior=DROP)


def unlock_page(world: World, page: Page) -> None:
    """unlock_page(): ``clear_bit_unlock_is_negative_byte``; wake if PG_waiters was set."""
    head = compound_head(page)
    checkpoint("unlock_page", page=head.name)
    check_alive(head, "unlock_page")
    me = world.task().actor
    if not head.flags & PG_locked or head.lock_owner is not me:
        owner = head.lock_owner.name if head.lock_owner is not None else "nobody"
        msg = f"{me.name} unlocks {head.name}, whose PG_locked is held by {owner}: " \
              f"{head.describe()}"
        raise InvariantViolation("lock_discipline", msg)
    old = head.flags
    head.flags = old & ~PG_locked
    head.lock_owner = None
    world.touch(head)
    show(waiters="yes" if old & PG_waiters else "no")
    if old & PG_waiters:
        wake_up_page_bit(world, head, PG_locked)
