"""The dispatcher as a background task of the gateway process, for the app's lifespan."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.policy import DeliveryPolicy

log = logging.getLogger(__name__)


@asynccontextmanager
async def dispatching(
    pool: asyncpg.Pool, policy: DeliveryPolicy, poll_s: float, batch_max: int
) -> AsyncIterator[None]:
    """Every gateway instance dispatches: claims are SKIP LOCKED, so they share the outbox."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        stop = asyncio.Event()
        dispatcher = Dispatcher(pool, client, policy, batch_max)
        task = asyncio.create_task(dispatcher.run(stop, poll_s), name="webhooks")
        task.add_done_callback(_report_crash)
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({task}, timeout=policy.timeout_s + 1)
            task.cancel()


def _report_crash(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webhook dispatcher stopped", exc_info=task.exception())
