"""`loyalty-ledger`: run the ledger writer until SIGTERM or SIGINT, then stop cleanly."""

import asyncio
import logging
import signal

from prometheus_client import start_http_server

from ledger import metrics, programme_state
from ledger.runtime import GC_THRESHOLDS
from ledger.settings import LedgerSettings
from ledger.writer import open_writer
from runtime import native
from runtime.collector import tune_garbage_collector

log = logging.getLogger("ledger")


async def serve(settings: LedgerSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with open_writer(settings) as writer:
        tune_garbage_collector(GC_THRESHOLDS)
        log.info("consuming %s as %s", settings.commands_topic, settings.consumer_group)
        state = asyncio.create_task(
            programme_state.refresh(
                settings.database_url,
                settings.programme_metrics_interval_s,
                metrics.PROGRAMME_STATE.publish,
                stop,
            )
        )
        # A reading that fails on a bug (not on the database) stops the writer too: loudly.
        state.add_done_callback(lambda _: stop.set())
        try:
            await writer.run(stop)
        finally:
            stop.set()
            await state
    log.info("ledger writer stopped")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    native.warn_if_not_compiled(log)
    settings = LedgerSettings()
    start_http_server(settings.metrics_port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
