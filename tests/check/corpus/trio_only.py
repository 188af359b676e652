# Labelled corpus: see asyncio_blocking.py for the markers.
# A module that does not use asyncio: trio's cancellation is level-triggered.
import trio


async def serve(stream):
    try:
        await stream.receive_some()
    except BaseException:  # ok: GW114
        await trio.sleep(0)
