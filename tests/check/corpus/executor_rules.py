# Labelled corpus: see asyncio_blocking.py for the markers.
import asyncio
import concurrent.futures as cf
from multiprocessing.pool import ThreadPool


def send(x):
    return x


def futures(items):
    with cf.ThreadPoolExecutor() as ex:
        ex.submit(send, 1)  # expect: GW401
        unused = ex.submit(send, 2)  # expect: GW401
        kept = ex.submit(send, 3)  # ok: GW401
        fs = [ex.submit(send, i) for i in items]  # ok: GW401
        print(kept.result(), [f.result() for f in fs])
        ex.map(send, items)  # expect: GW402
        for _ in ex.map(send, items):  # ok: GW402
            pass
    with ThreadPool() as tp:
        tp.apply_async(send, (1,))  # expect: GW401
        tp.map(send, items)  # ok: GW402  (multiprocessing's map is eager)
        tp.imap(send, items)  # expect: GW402


async def in_executor(loop):
    loop.run_in_executor(None, send, 1)  # expect: GW401
    await loop.run_in_executor(None, send, 1)  # ok: GW401
    return await asyncio.sleep(0)


class Uploader:
    def __init__(self):
        self._executor = cf.ThreadPoolExecutor()

    def upload(self, item):
        self._executor.submit(send, item)  # expect: GW401


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
