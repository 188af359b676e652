import logging
import time

from aiohttp import web

log = logging.getLogger(__name__)

RETRY_DELAY = 0.5


async def submit_order(request: web.Request) -> web.Response:
    payload = await request.json()
    store = request.app["orders"]
    for attempt in range(3):
        try:
            order_id = await store.insert(payload)
            break
        except ConnectionError:
            log.warning("insert failed, attempt %d", attempt)
            time.sleep(RETRY_DELAY * (attempt + 1))
    else:
        raise web.HTTPServiceUnavailable()
    return web.json_response({"id": order_id}, status=201)
