# Labelled corpus: see asyncio_blocking.py for the markers.
import asyncio
from asyncio import create_task as spawn
from typing import NoReturn

background = set()


async def job():
    return 1


class Service:
    async def refresh(self):
        return 2

    async def run(self):
        self.refresh()  # expect: GW110
        await self.refresh()  # ok: GW110


async def coroutines():
    job()  # expect: GW110
    asyncio.sleep(1)  # expect: GW110
    await job()  # ok: GW110
    coro = job()  # ok: GW110  (kept; awaited below)
    await coro


def exit_hook(loop):
    # An `async def` that yields is an async generator: calling it runs nothing, so this
    # hook never stops the loop (ipykernel's asyncio exit hook).
    async def close_loop():
        yield loop.shutdown_asyncgens()
        loop.stop()

    close_loop()  # expect: GW110


async def tasks(loop):
    asyncio.create_task(job())  # expect: GW111
    spawn(job())  # expect: GW111
    asyncio.ensure_future(job())  # expect: GW111
    forgotten = asyncio.create_task(job())  # expect: GW111
    asyncio.get_running_loop().create_task(job())  # expect: GW111
    task = asyncio.create_task(job())  # ok: GW111
    background.add(task)
    task.add_done_callback(background.discard)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(job())  # ok: GW111  (the group keeps it)
    kept = asyncio.create_task(job())  # ok: GW111
    return await kept


async def nested_loops(loop):
    asyncio.run(job())  # expect: GW112
    loop.run_until_complete(job())  # expect: GW112
    await job()  # ok: GW112


def sync_entry(loop):
    asyncio.run(job())  # ok: GW112
    loop.run_until_complete(job())  # ok: GW112


async def cancellation(queue):
    try:
        await queue.get()
    except asyncio.CancelledError:  # expect: GW114
        print("stopped")
    try:
        await queue.get()
    except:  # expect: GW114  # noqa: E722
        pass
    try:
        await queue.get()
    except asyncio.CancelledError:  # ok: GW114
        print("stopping")
        raise
    try:
        await queue.get()
    except Exception:  # ok: GW114  (Exception does not catch CancelledError)
        pass


def _reraise(exc) -> NoReturn:
    raise exc


async def reraise_through_a_helper(queue):
    try:
        await queue.get()
    except asyncio.CancelledError as exc:  # ok: GW114  (the helper never returns)
        _reraise(exc)


async def deferred_reraise(queue, errors):
    try:
        await queue.get()
    except asyncio.CancelledError as exc:  # ok: GW114  (kept and raised later)
        errors.append(exc)
    if errors:
        raise errors[0]


async def logged_only(queue, log):
    while True:
        try:
            await queue.get()
        except asyncio.CancelledError as exc:  # expect: GW114
            log.info("stopped: %s", exc)


async def ends_the_coroutine(queue, log):
    try:
        await queue.get()
    except asyncio.CancelledError:  # expect: GW115  # ok: GW114  (the coroutine ends here)
        log.info("stopped")


async def returns_from_the_loop(queue):
    while True:
        try:
            await queue.get()
        except asyncio.CancelledError:  # expect: GW115
            return None
        except Exception:  # ok: GW115
            continue


async def cancel_then_wait(worker):
    worker.cancel()
    try:
        await worker
    except asyncio.CancelledError:  # ok: GW114  (we cancelled it ourselves)
        pass
