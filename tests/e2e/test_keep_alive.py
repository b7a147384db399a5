"""An idle keep-alive connection outlives a client's own idle expiry (httpx closes its pooled
connections after 5 s): the client, not the gateway, closes it, so a request is never sent on a
connection the gateway is closing at that moment (which gets no answer at all)."""

import asyncio

from deploy.local.settings import LocalSettings
from tests.e2e.conftest import Credentials

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n"


async def test_an_idle_connection_is_still_served_after_a_clients_idle_expiry(
    system: tuple[LocalSettings, Credentials],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", system[0].gateway_port)
    try:
        assert await answered(reader, writer) == b"HTTP/1.1 200 OK\r\n"
        await asyncio.sleep(6)  # past uvicorn's default keep-alive (5 s) and httpx's expiry
        assert await answered(reader, writer) == b"HTTP/1.1 200 OK\r\n"
    finally:
        writer.close()


async def answered(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Sends the request on the connection; answers the response's status line ("" when the
    gateway had closed the connection)."""
    writer.write(REQUEST)
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=10)
    if status:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
    return status
