"""`loyalty-webhooks`: sends the outbox's due webhooks until SIGTERM or SIGINT, with Prometheus
metrics on their own port (LOYALTY_METRICS_PORT, 9104).

Run as many as you like: their claims are leases, so they share the outbox. On a signal the
posts in flight are finished (each attempt is bounded by LOYALTY_WEBHOOK_TIMEOUT_S) and their
results recorded; posts that do not finish within that and a margin are cancelled, which gives
their claims back."""

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine

import aiohttp
import asyncpg
import uvloop
from prometheus_client import start_http_server
from pydantic import ValidationError

from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.runtime import GC_THRESHOLDS
from gateway.webhooks.settings import LEASE_MARGIN_S, WebhookSettings
from gateway.webhooks.wakeups import Wakeups
from runtime.collector import tune_garbage_collector

log = logging.getLogger("webhooks")
# How its sessions show in pg_stat_activity.
SERVER_SETTINGS = {"application_name": "loyalty-webhooks"}


async def serve(settings: WebhookSettings, stop: asyncio.Event) -> None:
    """Dispatches until `stop` is set; returns once the posts in flight are done or given back."""
    async with (
        asyncpg.create_pool(
            settings.database_url,
            min_size=1,
            max_size=settings.database_pool_size,
            server_settings=SERVER_SETTINGS,
        ) as pool,
        # Up to batch_max posts are in flight: none of them waits for a pooled connection, which
        # would eat into its timeout.
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.webhook_batch_max),
            timeout=aiohttp.ClientTimeout(total=settings.webhook_timeout_s),
        ) as client,
    ):
        dispatcher = Dispatcher(
            pool, client, settings.policy(), settings.webhook_batch_max, settings.webhook_lease_s
        )
        wakeups = Wakeups(settings.database_url, SERVER_SETTINGS)
        tune_garbage_collector(GC_THRESHOLDS)
        log.info("dispatching webhooks as %s", dispatcher.claimant)
        try:
            running = dispatcher.run(stop, settings.webhook_poll_s, wakeups)
            await _until_stopped(running, stop, settings.webhook_timeout_s + LEASE_MARGIN_S)
        finally:
            await wakeups.close()
    log.info("webhooks stopped")


async def _until_stopped(
    running: Coroutine[None, None, None], stop: asyncio.Event, grace_s: float
) -> None:
    task = asyncio.create_task(running, name="webhooks")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        await asyncio.wait({task}, timeout=grace_s)
    if not task.done():
        log.warning("posts in flight outlasted %g s: giving their claims back", grace_s)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return
    task.result()  # a dispatcher that crashed ends the process with its error


async def _serve_until_signalled(settings: WebhookSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


def _refusal(exc: ValidationError) -> str:
    """The settings' errors on one line, each named by its environment variable."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = f"LOYALTY_{field.upper()}" if field else "settings"
        problems.append(f"{name}: {error['msg']}")
    return "; ".join(problems)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = WebhookSettings()
    except ValidationError as exc:
        print(f"loyalty-webhooks: {_refusal(exc)}", file=sys.stderr)
        sys.exit(2)
    start_http_server(settings.metrics_port)
    # The C event loop, as the gateway's: 8-27 % more deliveries a second than asyncio's in
    # alternating runs of `python -m bench.webhooks`.
    uvloop.run(_serve_until_signalled(settings))


if __name__ == "__main__":
    main()
