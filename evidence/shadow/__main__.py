"""`loyalty-shadow`: follow the running shadow runs until SIGTERM or SIGINT."""

import asyncio
import logging
import signal
import sys

from prometheus_client import start_http_server
from pydantic import ValidationError

from evidence.shadow.running import run
from evidence.shadow.settings import ShadowSettings

log = logging.getLogger("shadow")


async def serve(settings: ShadowSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("following shadow runs every %.1f s", settings.shadow_tick_s)
    await run(settings, stop)
    log.info("shadow worker stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ShadowSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"loyalty-shadow: invalid settings: {problems}", file=sys.stderr)
        sys.exit(2)
    start_http_server(settings.metrics_port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
