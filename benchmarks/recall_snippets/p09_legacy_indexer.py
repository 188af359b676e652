import threading

from .index import rebuild_index


class IndexService:
    def __init__(self, db):
        self.db = db
        self._worker = None

    def start_rebuild(self):
        self._worker = threading.Thread(target=rebuild_index, args=(self.db,), name="reindex")
        self._worker.start()

    async def wait_until_ready(self, timeout: float = 30.0) -> bool:
        if self._worker is not None:
            self._worker.join(timeout)
            return not self._worker.is_alive()
        return True
