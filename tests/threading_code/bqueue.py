"""A bounded queue on threading.Condition, as people write it; one version waits with ``if``."""

import threading


class BoundedQueue:
    def __init__(self, capacity: int, recheck: bool) -> None:
        self.items: list[int] = []
        self.capacity = capacity
        self.recheck = recheck
        self.cond = threading.Condition()

    def put(self, item: int) -> None:
        with self.cond:
            while len(self.items) >= self.capacity:
                self.cond.wait()
            self.items.append(item)
            self.cond.notify_all()

    def get(self) -> int:
        with self.cond:
            if self.recheck:
                while not self.items:
                    self.cond.wait()
            elif not self.items:  # the bug: woken, another consumer may have taken it
                self.cond.wait()
            item = self.items.pop(0)
            self.cond.notify_all()
            return item


def two_consumers(recheck: bool) -> None:
    queue = BoundedQueue(1, recheck)
    got: list[int] = []
    consumers = [threading.Thread(target=lambda: got.append(queue.get()), name=f"consumer-{i}")
                 for i in range(2)]
    for t in consumers:
        t.start()
    for item in range(2):
        queue.put(item)
    for t in consumers:
        t.join()
    assert sorted(got) == [0, 1], got


def test_if_wait() -> None:
    two_consumers(recheck=False)


def test_while_wait() -> None:
    two_consumers(recheck=True)
