import threading


class Ledger:
    def __init__(self):
        self._lock = threading.RLock()
        self._balances = {}

    def transfer(self, src, dst, amount):
        self._lock.acquire()
        try:
            if self._balances.get(src, 0) < amount:
                raise ValueError("insufficient funds")
            self._balances[src] -= amount
            self._balances[dst] = self._balances.get(dst, 0) + amount
        finally:
            self._lock.release()
