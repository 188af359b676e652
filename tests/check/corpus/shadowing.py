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


# -- A name defined twice: the definition in effect where it is called ------------------
# Python binds the last definition that runs. After two unconditional ones that is the
# second; when one of them is conditional (`if`, `try`), either may be in effect, and a
# name whose definitions disagree on what a rule looks at is unknown to that rule.
import sys  # noqa: E402


def fetch():
    return 1


async def fetch():  # noqa: F811
    return 2


if sys.version_info >= (3, 11):

    async def poll():
        return 1

else:

    def poll():
        time.sleep(1)


if sys.version_info >= (3, 11):

    async def ping():
        return 1

else:

    async def ping():
        return 2


try:
    from time import sleep as pause
except ImportError:

    def pause(seconds):
        return seconds


class Client:
    def get(self):
        return 1

    async def get(self):  # noqa: F811
        return 2

    async def run(self):
        self.get()  # expect: GW110  (the second definition replaces the first)


async def redefined():
    fetch()  # expect: GW110  (the second definition replaces the first)
    poll()  # ok: GW110 GW101  (async on 3.11+, blocking before: which one is unknown)
    ping()  # expect: GW110  (async either way)
    pause(1)  # ok: GW101  (the standard one, or a fallback that does not block)


# -- A function-level import binds the name in that function only --------------------
import time  # noqa: E402
from aiohttp import request as get  # noqa: E402


def sync_get(url):
    from requests import get

    return get(url).text


async def async_get(url):
    async with get("GET", url) as response:  # ok: GW102  (aiohttp: sync_get's import is its own)
        return await response.text()


async def outer():
    from time import sleep as doze

    async def inner():
        doze(1)  # expect: GW101  (seen from a nested function)

    async def shadowed(time):
        time.sleep(1)  # ok: GW101  (the parameter hides the module's time)

    await inner()
    await shadowed(None)
