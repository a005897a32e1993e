"""The World's snapshot: what a stateful search tells states apart by."""

from __future__ import annotations

from types import SimpleNamespace

from thpmodel.world import Task, World


def make_world() -> World:
    """A world with one THP at index 0, outside any run."""
    world = World()
    world.add_thp(0)
    return world


def _meet(world: World, *names: str) -> None:
    """Create the tasks and vmas of ``names`` in this order, as their actors' first use does."""
    for name in names:
        world.tasks[name] = Task(SimpleNamespace(name=name))
        world.vma(f"vma.{name}")


def test_the_snapshot_does_not_depend_on_the_order_tasks_and_vmas_were_met() -> None:
    """Two runs that met the same actors in another order, or one actor not yet, are in the
    same state: a task is created running and a vma mapping nothing, as if never met."""
    first, second, fresh = make_world(), make_world(), make_world()
    _meet(first, "reader", "faulter")
    _meet(second, "faulter", "reader")
    assert first.__schedfuzz_state__() == second.__schedfuzz_state__()
    assert first.__schedfuzz_state__() == fresh.__schedfuzz_state__()


def test_the_snapshot_shows_a_sleeping_task_and_a_mapping_vma() -> None:
    """What does decide the future stays in: a task's sleep state, a vma's mapped page."""
    world, other = make_world(), make_world()
    _meet(world, "reader", "faulter")
    _meet(other, "reader", "faulter")
    world.tasks["reader"].state = "UNINTERRUPTIBLE"
    assert world.__schedfuzz_state__() != other.__schedfuzz_state__()
    world.tasks["reader"].state = "RUNNING"
    world.vmas["vma.faulter"].mapped = world.pages[0]
    assert world.__schedfuzz_state__() != other.__schedfuzz_state__()
