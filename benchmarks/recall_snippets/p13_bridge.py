import asyncio
import queue

from websockets.server import WebSocketServerProtocol


async def forward_events(ws: WebSocketServerProtocol, events: queue.Queue) -> None:
    while not ws.closed:
        event = events.get()
        if event is None:
            break
        await ws.send(event.to_json())
    await ws.close()


def attach(ws, events):
    return asyncio.ensure_future(forward_events(ws, events))
