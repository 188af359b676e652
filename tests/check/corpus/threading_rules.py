# Labelled corpus: see asyncio_blocking.py for the markers.
import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

lock = threading.Lock()
ready = threading.Condition()
acondition = asyncio.Condition()
items = []
counter = 0
totals = {}


def bad_acquire():
    lock.acquire()  # expect: GW201
    items.append(1)
    lock.release()


def good_acquire():
    lock.acquire()  # ok: GW201
    try:
        items.append(1)
    finally:
        lock.release()


def held_for_good():
    lock.acquire()  # ok: GW201  (no release in this function: a hand-off or a held flag)


def wait_and_reacquire(cond):
    cond.release()
    try:
        cond.wait_for_signal()
    finally:
        lock.acquire()  # ok: GW201  (re-acquired in finally for the caller)
    lock.release()
    lock.acquire()  # ok: GW201  (release, then re-acquire)


def released_behind_a_flag(in_maintenance):
    locked = False
    try:
        if in_maintenance:
            lock.acquire()  # ok: GW201  (the enclosing try's finally releases it)
            locked = True
        items.append(1)
    finally:
        if locked:
            lock.release()


def tornado_style(async_lock):
    with (yield async_lock.acquire()):  # ok: GW201  (an async lock, released by the with)
        pass


def probe():
    if lock.acquire(blocking=False):  # ok: GW201  (released at once)
        lock.release()


class Guard:
    def __init__(self):
        self._lock = threading.Lock()

    def __enter__(self):
        self._lock.acquire()  # ok: GW201  (implements the protocol)
        return self

    def __exit__(self, *exc):
        self._lock.release()


def bad_wait():
    with ready:
        if not items:
            ready.wait()  # expect: GW202
        return items.pop()


def timed_wait_then_recheck(state):
    with ready:
        if not items:
            ready.wait(5.0)  # ok: GW202  (the next statement re-checks)
        if not items:
            raise TimeoutError
        if not ready.wait(1.0):  # ok: GW202  (its result is tested)
            raise TimeoutError
        return items.pop()


def wait_for_the_caller(condition: threading.Condition, timeout):
    # A wrapper that hands the timed wait's result back: the caller's loop re-checks
    # (pymongo's `_cond_wait`).
    return condition.wait(timeout)  # ok: GW202


def timed_wait_then_unrelated_check(log):
    with ready:
        if not items:
            ready.wait(5.0)  # expect: GW202  (the next if does not re-test items)
        if log:
            log.append("woke")
        return items.pop()


async def nested_wait_not_called_in_loop(acondition):
    async def _():
        await acondition.wait()  # expect: GW202

    while not items:
        items.append(1)
    await _()


def async_framework_locks(tornado_lock):
    # The task is dropped (GW111), but the acquire is an awaitable: an async lock.
    asyncio.ensure_future(tornado_lock.acquire())  # expect: GW111  # ok: GW201
    tornado_lock.release()


async def nested_wait(acondition):
    while not items:

        async def _():
            await acondition.wait()  # ok: GW202  (the loop around the call re-checks)

        await _()


def good_wait():
    with ready:
        while not items:
            ready.wait()  # ok: GW202
        ready.wait_for(lambda: items)  # ok: GW202
        return items.pop()


def work():
    global counter
    counter += 1  # expect: GW204
    totals["n"] += 1  # expect: GW204
    with lock:
        counter += 1  # ok: GW204
    local = 0
    local += 1  # ok: GW204


def not_a_thread_target():
    global counter
    counter += 1  # ok: GW204


def threads():
    worker = threading.Thread(target=work)
    worker.start()  # expect: GW203
    threading.Thread(target=work).start()  # expect: GW203
    joined = threading.Thread(target=work)
    joined.start()  # ok: GW203
    joined.join()
    daemon = threading.Thread(target=work, daemon=True)
    daemon.start()  # ok: GW203
    threading.Thread(target=work, daemon=True).start()  # ok: GW203
    kept = threading.Thread(target=work)
    kept.start()  # ok: GW203  (returned: the caller joins it)
    return kept


def pool():
    with ThreadPoolExecutor() as executor:
        return executor.submit(work)
