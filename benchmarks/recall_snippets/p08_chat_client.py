import asyncio
import sys


async def send_loop(writer: asyncio.StreamWriter) -> None:
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        writer.write(line.encode())
        await writer.drain()


async def main(host="127.0.0.1", port=9000):
    reader, writer = await asyncio.open_connection(host, port)
    await send_loop(writer)
    writer.close()
    await writer.wait_closed()
