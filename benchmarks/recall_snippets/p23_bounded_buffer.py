import collections
import threading


class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.items = collections.deque()
        self.cond = threading.Condition()

    def put(self, item):
        with self.cond:
            if len(self.items) >= self.capacity:
                self.cond.wait()
            self.items.append(item)
            self.cond.notify_all()

    def take(self):
        with self.cond:
            while not self.items:
                self.cond.wait()
            item = self.items.popleft()
            self.cond.notify_all()
            return item
