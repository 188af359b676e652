import threading
import time


class RateCounter:
    def __init__(self, window=60):
        self.window = window
        self.lock = threading.Lock()
        self.hits = []

    def hit(self):
        now = time.time()
        self.lock.acquire()
        self.hits = [t for t in self.hits if now - t < self.window]
        self.hits.append(now)
        self.lock.release()

    def rate(self):
        with self.lock:
            return len(self.hits) / self.window
