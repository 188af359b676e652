# Labelled corpus: see asyncio_blocking.py for the markers.
# Names defined in the module hide the imports and builtins they share a name with.
from time import sleep


def sleep(seconds):  # noqa: F811
    return seconds


def open(name):
    return name


async def shadowed():
    sleep(1)  # ok: GW101
    open("x")  # ok: GW104
