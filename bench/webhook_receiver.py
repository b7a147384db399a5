"""A partner's webhook endpoint for `bench.webhooks` and `bench.chaos`, fast enough not to be what
is measured: uvicorn with keep-alive; `/ok` answers 204 at once, `/slow` after `SLOW_S`. With
`RECORD`, each delivery is appended to that file as a line `webhook id TAB body` (the chaos run
checks that no webhook id stood for two different outcomes).

`python -m bench.webhook_receiver PORT SLOW_S [RECORD]`"""

import asyncio
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

import uvicorn

Message = MutableMapping[str, Any]
WEBHOOK_ID = b"loyalty-webhook-id"


def application(slow_s: float, record: IO[bytes] | None = None) -> Callable[..., Awaitable[None]]:
    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
        if record is not None and scope["method"] == "POST":
            webhook_id = dict(scope["headers"]).get(WEBHOOK_ID, b"")
            # One write per line, flushed: a line is whole in the file or absent.
            record.write(webhook_id + b"\t" + body.replace(b"\n", b" ") + b"\n")
            record.flush()
        if scope["path"] == "/slow":
            await asyncio.sleep(slow_s)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    port, slow_s = int(sys.argv[1]), float(sys.argv[2])
    record = open(sys.argv[3], "ab") if len(sys.argv) > 3 else None  # noqa: SIM115 (for the process's life)
    uvicorn.run(
        application(slow_s, record),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
