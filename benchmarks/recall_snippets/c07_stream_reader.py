import asyncio
import logging

log = logging.getLogger(__name__)


async def pump(reader: asyncio.StreamReader, sink) -> None:
    try:
        while chunk := await reader.read(65536):
            await sink.write(chunk)
    except asyncio.CancelledError:
        log.debug("pump cancelled, flushing sink")
        await sink.flush()
        raise
    finally:
        sink.close()
