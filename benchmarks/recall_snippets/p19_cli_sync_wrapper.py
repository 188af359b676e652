import asyncio

import aiohttp


async def download(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return await resp.read()


def fetch_sync(url):
    return asyncio.run(download(url))


async def mirror(urls, dest):
    for url in urls:
        data = asyncio.run(download(url))
        dest.write(data)
