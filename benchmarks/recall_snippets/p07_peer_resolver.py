import asyncio
import socket


class PeerTable:
    def __init__(self):
        self.peers = {}

    async def add(self, hostname: str, port: int) -> None:
        addr = socket.gethostbyname(hostname)
        reader, writer = await asyncio.open_connection(addr, port)
        self.peers[hostname] = (reader, writer)
