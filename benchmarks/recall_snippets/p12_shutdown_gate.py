import asyncio
import threading

stop_requested = threading.Event()


async def consume(stream, handler):
    async for msg in stream:
        await handler(msg)


async def run_consumer(stream, handler):
    task = asyncio.create_task(consume(stream, handler))
    stop_requested.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
