import asyncio
import urllib.request
from xml.etree import ElementTree


async def fetch_titles(feed_url):
    with urllib.request.urlopen(feed_url, timeout=10) as resp:
        tree = ElementTree.parse(resp)
    return [item.findtext("title") for item in tree.iter("item")]


async def poll_feeds(urls, interval=300):
    while True:
        for url in urls:
            titles = await fetch_titles(url)
            print(url, len(titles))
        await asyncio.sleep(interval)
