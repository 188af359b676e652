# Labelled corpus: see asyncio_blocking.py for the markers.
# Fork and threads in two alternative mixins of one module: nothing forks while they run.
import os
import threading


class ForkingMixIn:
    def process_request(self):
        return os.fork()  # ok: GW303


class ThreadingMixIn:
    def process_request(self, handle):
        threading.Thread(target=handle, daemon=True).start()


class ForkingThreads:
    def run(self, handle):
        threading.Thread(target=handle, daemon=True).start()
        return os.fork()  # expect: GW303
