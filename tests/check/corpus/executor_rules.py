# Labelled corpus: see asyncio_blocking.py for the markers.
import asyncio
import concurrent.futures as cf
import functools
import logging
from multiprocessing.pool import ThreadPool

shared = cf.ThreadPoolExecutor()


def send(x):
    return x


def send_logged(x):
    """Handles its own errors: nothing reaches its future."""
    try:
        return send(x)
    except Exception:
        logging.exception("send failed")
        return None


def send_reraised(x):
    try:
        return send(x)
    except Exception:
        logging.exception("send failed")
        raise


def futures(items):
    shared.submit(send, 1)  # expect: GW401
    unused = shared.submit(send, 2)  # expect: GW401
    kept = shared.submit(send, 3)  # ok: GW401
    fs = [shared.submit(send, i) for i in items]  # ok: GW401
    print(kept.result(), [f.result() for f in fs])
    shared.map(send, items)  # expect: GW402
    for _ in shared.map(send, items):  # ok: GW402
        pass
    shared.submit(send_logged, 4)  # ok: GW401  (the task catches everything itself)
    shared.submit(functools.partial(send_logged, 5))  # ok: GW401  (the same, through partial)
    shared.map(send_logged, items)  # ok: GW402  (the task catches everything itself)
    shared.submit(send_reraised, 6)  # expect: GW401  (its handler re-raises)
    tp = ThreadPool()
    tp.apply_async(send, (1,))  # expect: GW401
    tp.map(send, items)  # ok: GW402  (multiprocessing's map is eager)
    tp.imap(send, items)  # expect: GW402


def waited_by_the_with(items):
    with cf.ThreadPoolExecutor() as ex:
        ex.submit(send, 1)  # ok: GW401  (leaving the with waits for it)
        ex.map(send, items)  # ok: GW402  (leaving the with waits for them)
        shared.submit(send, 2)  # expect: GW401  (another executor: nothing waits)
    with ThreadPool() as tp:
        tp.imap(send, items)  # ok: GW402


async def in_executor(loop):
    loop.run_in_executor(None, send, 1)  # expect: GW401
    loop.run_in_executor(None, send_logged, 1)  # ok: GW401  (the task catches everything)
    await loop.run_in_executor(None, send, 1)  # ok: GW401
    return await asyncio.sleep(0)


class Uploader:
    def __init__(self):
        self._executor = cf.ThreadPoolExecutor()

    def upload(self, item):
        self._executor.submit(send, item)  # expect: GW401
        self._executor.submit(self._upload_logged, item)  # ok: GW401  (catches everything)

    def _upload_logged(self, item):
        while True:
            try:
                send(item)
            except BaseException:
                logging.exception("upload failed")


def pools_in_loops(batches):
    out = []
    for batch in batches:
        with cf.ProcessPoolExecutor() as ex:  # expect: GW403
            out.extend(ex.map(send, batch))
    while batches:
        ThreadPool(2).close()  # expect: GW403
        batches.pop()
    with cf.ThreadPoolExecutor() as ex:  # ok: GW403
        for batch in batches:
            out.extend(ex.map(send, batch))
    return out
