"""A worker pool that counts finished jobs; one version counts without its lock."""

import threading


class Pool:
    def __init__(self, locked: bool) -> None:
        self.done = 0
        self.locked = locked
        self.lock = threading.Lock()

    def job(self, n: int) -> int:
        result = n * n
        if self.locked:
            with self.lock:
                self.done += 1
        else:
            self.done += 1
        return result


def run_jobs(locked: bool) -> None:
    pool = Pool(locked)
    workers = [threading.Thread(target=pool.job, args=(n,)) for n in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert pool.done == 2, f"done is {pool.done}"


def test_unlocked_count() -> None:
    run_jobs(locked=False)


def test_locked_count() -> None:
    run_jobs(locked=True)
