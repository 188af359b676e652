# Labelled corpus: see asyncio_blocking.py for the markers.
# The false-alarm causes of issue 15, each with a correct line (ok) and a real one (expect).
import asyncio
import queue
import sys
import threading
import time
from typing import Final

from textual import work

# -- 1. GW114: the handler ends the coroutine ----------------------------------------


async def breaks_out_of_the_last_loop(stream):
    while True:
        try:
            await stream.read()
        except asyncio.CancelledError:  # ok: GW114  # expect: GW115
            break
    stream.close()


async def breaks_then_awaits_more(stream):
    while True:
        try:
            await stream.read()
        except asyncio.CancelledError:  # expect: GW114  (more awaits after the loop)
            break
    await stream.drain()


async def synchronous_cleanup_after(stream, log):
    try:
        await stream.read()
    except asyncio.CancelledError:  # ok: GW114  # expect: GW115
        log.info("cancelled")
    stream.close()
    log.info("closed")


class Reader:
    async def run(self, stream):
        while self._running:
            try:
                await stream.read()
            except asyncio.CancelledError:  # ok: GW114  # expect: GW115  (clears the flag)
                self._running = False

    async def run_on(self, stream):
        while self._running:
            try:
                await stream.read()
            except asyncio.CancelledError:  # expect: GW114  (the loop goes on)
                stream.reset()


# -- 2. GW114/GW115: the owner cancels its own task, or nobody awaits it --------------


class Connection:
    def start(self):
        self._reader = asyncio.create_task(self._read_forever())
        self._pinger = asyncio.create_task(self._ping_forever())

    def _stop_reader(self):
        self._reader.cancel()

    async def close(self):
        self._stop_reader()
        try:
            await self._reader
        except asyncio.CancelledError:  # ok: GW114 GW115  (cancelled in _stop_reader)
            pass
        pinger = self._pinger
        self._pinger.cancel()
        try:
            await pinger
        except asyncio.CancelledError:  # ok: GW114  (the same task, another name)
            pass
        await self.flush()

    async def flush(self):
        return None

    async def _read_forever(self):
        try:
            while True:
                await asyncio.sleep(1)
        except asyncio.CancelledError:  # ok: GW115  (run only as a task: nobody awaits it)
            pass

    async def _ping_forever(self):
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:  # expect: GW114  (it never stops)
                pass


async def cancel_all(tasks):
    for task in tasks:
        task.cancel()
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:  # ok: GW114  (we cancelled them)
        pass
    return len(tasks)


async def handle_client(reader, writer):
    try:
        await reader.read()
    except asyncio.CancelledError:  # ok: GW115  (a server callback: nobody awaits it)
        writer.close()


async def serve():
    return await asyncio.start_server(handle_client, "localhost", 8000)


async def fetch(stream):
    try:
        return await stream.read()
    except asyncio.CancelledError:  # expect: GW115  (awaited below: its caller is misled)
        return None


async def fetch_twice(stream):
    return [await fetch(stream), await fetch(stream)]


async def waits_for_a_task_it_did_not_cancel(task):
    while True:
        try:
            await task
        except asyncio.CancelledError:  # expect: GW114
            continue


# -- 3. GW401/GW402 are in executor_rules.py; GW203: the target handles its errors ----


def guarded():
    try:
        time.sleep(1)
    except Exception:
        print("failed")


def unguarded():
    time.sleep(1)


def start_threads():
    threading.Thread(target=guarded).start()  # ok: GW203  (the target catches everything)
    threading.Thread(target=unguarded).start()  # expect: GW203

    def save():
        try:
            unguarded()
        except Exception:
            print("save failed")

    saver = threading.Thread(target=save)
    saver.start()  # ok: GW203  (a nested target that catches everything)


# -- 4. What a call means -------------------------------------------------------------


async def hops_threads(coro, other_loop):
    asyncio.run_coroutine_threadsafe(coro, other_loop)  # ok: GW111  (another thread's loop)


class App:
    @work
    async def refresh(self):
        return 1

    async def plain(self):
        return 2

    def on_click(self):
        self.refresh()  # ok: GW110  (@work starts a worker and returns it)
        self.plain()  # expect: GW110


class Child(App):
    def on_key(self):
        self.plain()  # expect: GW110  (inherited from App)


if sys.version_info < (3, 8):

    class Client:
        def close(self):
            return None

        def __del__(self):
            self.close()  # ok: GW110  (this Client's close is synchronous)

else:

    class Client:
        async def close(self):
            return None


class ThreadSide:
    def __init__(self):
        self._done = threading.Event()

    async def stuck(self):
        self._done.wait()  # expect: GW113


class LoopSide:
    def __init__(self, make_event):
        self._done = make_event()

    async def wait(self):
        return self._done.wait()  # ok: GW113  (another class's _done: unknown here)


unbounded = queue.SimpleQueue()
bounded = queue.Queue(maxsize=10)
unlimited = queue.Queue()


async def queues():
    unbounded.put(1)  # ok: GW113  (SimpleQueue.put never waits)
    unlimited.put(1)  # ok: GW113  (no maxsize: put never waits)
    bounded.put(1)  # expect: GW113
    unbounded.get()  # expect: GW113


counts = [0, 0]
words = {}


def count_slot(slot, text):
    counts[slot] += 1  # ok: GW204  (each thread is given its own slot)
    for word in text.split():
        words[word] += 1  # expect: GW204  (every thread shares the words)
    counts[threading.get_ident() % 2] += 1  # ok: GW204  (the thread's own slot)


def start_counters(text):
    for slot in range(2):
        threading.Thread(target=count_slot, args=(slot, text), daemon=True).start()


# -- 5. Binding forms and other linters' noqa codes -------------------------------------

_background = None


async def keeps_it_globally(job):
    global _background
    _background = asyncio.create_task(job())  # ok: GW111  (global: outlives the call)


async def keeps_it_in_the_closure(job):
    keeper = None

    def keep():
        nonlocal keeper
        keeper = asyncio.ensure_future(job())  # ok: GW111  (nonlocal)

    keep()
    return keeper


async def annotated_but_dropped(job):
    task: asyncio.Task = asyncio.create_task(job())  # expect: GW111


watchdog: Final = threading.Thread(target=unguarded, daemon=True)
watchdog.start()  # ok: GW203  (a daemon, said in an annotated assignment)
worker: threading.Thread = threading.Thread(target=unguarded)


def start_worker():
    worker.start()  # expect: GW203


async def yields_the_gil():
    time.sleep(0)  # ok: GW101  (returns at once)


async def silenced_by_other_linters(path):
    time.sleep(1)  # ok: GW101  # noqa: ASYNC251
    open(path)  # ok: GW104  # noqa: ASYNC230
    open(path)  # ok: GW104  # noqa: ASYNC101
    asyncio.create_task(fetch(path))  # ok: GW111  # noqa: RUF006
    time.sleep(1)  # expect: GW101  # noqa: ASYNC230  (a code for another problem)
