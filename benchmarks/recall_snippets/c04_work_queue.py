import threading


class WorkQueue:
    def __init__(self):
        self._cond = threading.Condition()
        self._jobs = []
        self._closed = False

    def submit(self, job):
        with self._cond:
            self._jobs.append(job)
            self._cond.notify()

    def next_job(self, timeout=None):
        with self._cond:
            while not self._jobs and not self._closed:
                if not self._cond.wait(timeout):
                    return None
            return self._jobs.pop(0) if self._jobs else None
