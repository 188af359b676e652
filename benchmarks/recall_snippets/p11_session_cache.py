import threading
import time


class SessionCache:
    def __init__(self, backend, ttl=600):
        self._backend = backend
        self._ttl = ttl
        self._lock = threading.Lock()
        self._items = {}

    async def get(self, session_id):
        with self._lock:
            entry = self._items.get(session_id)
            if entry is None or entry[1] < time.monotonic():
                data = await self._backend.load(session_id)
                entry = (data, time.monotonic() + self._ttl)
                self._items[session_id] = entry
        return entry[0]
