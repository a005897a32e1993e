"""An account whose methods are correct, used by callers that race: unmodified threading code."""

import threading


class Account:
    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.lock = threading.Lock()

    def withdraw(self, amount: int) -> bool:
        with self.lock:
            if self.balance >= amount:
                self.balance -= amount
                return True
            return False

    def get(self) -> int:
        with self.lock:
            return self.balance


def spend_twice(check_first: bool) -> None:
    """Two threads each spend 80 of 100. With ``check_first`` each checks the balance, then
    withdraws without looking at the answer: both can pass the check."""
    account = Account(100)
    spent: list[int] = []

    def spend() -> None:
        if check_first:
            if account.get() >= 80:
                account.withdraw(80)
                spent.append(80)
        elif account.withdraw(80):
            spent.append(80)

    threads = [threading.Thread(target=spend, name=f"teller-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spent) <= 1, f"spent {spent}, balance {account.balance}"


def test_check_then_act() -> None:
    spend_twice(check_first=True)


def test_withdraw_answers() -> None:
    spend_twice(check_first=False)
