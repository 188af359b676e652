import asyncio
import logging

import httpx

log = logging.getLogger(__name__)


async def forward_event(event: dict, url: str) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        for attempt in range(3):
            try:
                resp = await client.post(url, json=event)
                return resp.is_success
            except httpx.TransportError:
                log.warning("forward failed, attempt %d", attempt)
                await asyncio.sleep(0.5 * (attempt + 1))
    return False
