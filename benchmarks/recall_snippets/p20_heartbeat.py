import asyncio
import logging

logger = logging.getLogger(__name__)


async def heartbeat(conn, every=15.0):
    misses = 0
    while misses < 3:
        try:
            await conn.ping()
            misses = 0
        except asyncio.CancelledError:
            logger.info("heartbeat interrupted for %s", conn.peer)
        except (ConnectionError, asyncio.TimeoutError):
            misses += 1
        await asyncio.sleep(every)
    await conn.close()
