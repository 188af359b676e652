import asyncio
import logging

log = logging.getLogger("metrics")


class MetricsBuffer:
    def __init__(self, sink):
        self.sink = sink
        self.points = []

    async def flush(self):
        if self.points:
            batch, self.points = self.points, []
            await self.sink.write(batch)

    async def close(self):
        log.info("closing buffer with %d points", len(self.points))
        self.flush()
        await self.sink.close()
