"""A plain threaded program for the ``unmodified`` benchmark: its own lines are the steps."""

import threading


def work(k: int, lock: threading.Lock) -> None:
    total = 0
    for i in range(k):
        total += i
    with lock:
        pass


def locking(k: int, lock: threading.Lock) -> None:
    for _ in range(k):
        with lock:
            pass


def two_threads(k: int = 50, locks_only: bool = False) -> None:
    lock = threading.Lock()
    target = locking if locks_only else work
    threads = [threading.Thread(target=target, args=(k, lock)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
