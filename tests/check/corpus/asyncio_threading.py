# Labelled corpus: see asyncio_blocking.py for the markers.
import asyncio
import queue
import threading

lock = threading.Lock()
event = threading.Event()
jobs = queue.Queue()
alock = asyncio.Lock()


async def waits():
    event.wait()  # expect: GW113
    lock.acquire()  # expect: GW113  # ok: GW201  (no release here: held on purpose)
    jobs.get()  # expect: GW113
    jobs.get(block=False)  # ok: GW113
    lock.acquire(blocking=False)  # ok: GW113 GW201
    await asyncio.to_thread(event.wait)  # ok: GW113


async def holds(client):
    with lock:  # expect: GW113
        await client.send()
    with lock:  # ok: GW113  (no await while held)
        client.count += 1
    async with alock:  # ok: GW113
        await client.send()
