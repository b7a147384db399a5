"""A partner's webhook endpoint for `bench.webhooks`, fast enough not to be what is measured:
uvicorn with keep-alive; `/ok` answers 204 at once, `/slow` after `SLOW_S`.

`python -m bench.webhook_receiver PORT SLOW_S`"""

import asyncio
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]


def application(slow_s: float) -> Callable[..., Awaitable[None]]:
    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        more = True
        while more:  # the body, read and dropped
            more = bool((await receive()).get("more_body", False))
        if scope["path"] == "/slow":
            await asyncio.sleep(slow_s)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    port, slow_s = int(sys.argv[1]), float(sys.argv[2])
    uvicorn.run(
        application(slow_s),
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
