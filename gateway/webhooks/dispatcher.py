"""Claims due deliveries from the outbox, sends them signed, and records what happened.

Deliveries are claimed with a lease (gateway.webhooks.claims, one statement committed at once)
and posted at once with no transaction open, up to `batch_max` in flight, each attempt bounded
by the policy's timeout; each result is recorded as soon as it is known. Several dispatchers
share the outbox; one that dies mid-send leaves its rows to be taken again when their lease runs
out (at least once; receivers deduplicate on the `Loyalty-Webhook-Id` header)."""

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import asyncpg
import orjson

from gateway.webhooks import claims, metrics, signing
from gateway.webhooks.claims import Claim, Delivery
from gateway.webhooks.db_errors import DATABASE_ERRORS
from gateway.webhooks.policy import Attempt, DeliveryPolicy, Next, after
from gateway.webhooks.wakeups import Wakeups

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 30.0
# Of a receiver's answer, read: its start is kept as the error of a refused delivery, and an answer
# read to its end lets the connection serve the next post.
ANSWER_BYTES_MAX = 4_096
_RESULT_METRIC = {"delivered": "delivered", "pending": "retry", "failed": "failed"}


def claimant_name() -> str:
    """Who holds a claim, as `claimed_by` shows it: host, process and this dispatcher."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: aiohttp.ClientSession,
        policy: DeliveryPolicy,
        batch_max: int = 100,
        lease_s: float = DEFAULT_LEASE_S,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        if lease_s <= policy.timeout_s:
            raise ValueError(f"a lease of {lease_s} s would run out within an attempt's timeout")
        self._pool = pool
        self._client = client
        self._policy = policy
        self._batch_max = batch_max
        self._lease_s = lease_s
        self._clock_s = clock_s
        self.claimant = claimant_name()

    async def deliver_due(self) -> int:
        """One round: claims up to `batch_max` due deliveries, posts them concurrently, and
        returns how many once every result is recorded. Cancelled, its unrecorded claims are
        given back."""
        claim = await self._claim(self._batch_max)
        await asyncio.gather(*(self._deliver(claim, d) for d in claim.deliveries))
        return len(claim.deliveries)

    async def run(self, stop: asyncio.Event, poll_s: float, wakeups: Wakeups) -> None:
        """Delivers until `stop` with up to `batch_max` posts in flight, claiming due deliveries
        as slots free up, so a slow receiver holds only its own slots. Claims when the outbox
        trigger's NOTIFY wakes it, when half the slots have come free, or every `poll_s` (retries
        that fall due, a lost notification). On `stop` the posts in flight are finished;
        cancelled, they give their claims back."""
        sending: set[asyncio.Task[None]] = set()
        room = asyncio.Event()

        def sent(task: "asyncio.Task[None]") -> None:
            sending.discard(task)
            if len(sending) == self._batch_max // 2:
                room.set()
            if not task.cancelled() and task.exception() is not None:
                log.error("webhook delivery failed", exc_info=task.exception())

        try:
            while not stop.is_set():
                await wakeups.listen()
                wakeups.event.clear()
                room.clear()
                free = self._batch_max - len(sending)
                if free and await self._start(free, sending, sent) == free:
                    continue  # perhaps more are due
                await _first(poll_s, wakeups.event, stop, room)
            await asyncio.gather(*sending, return_exceptions=True)
        except asyncio.CancelledError:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise

    async def _start(
        self,
        free: int,
        sending: set["asyncio.Task[None]"],
        sent: Callable[["asyncio.Task[None]"], None],
    ) -> int:
        """Claims up to `free` deliveries and starts posting each at once (their lease counts
        from the claim). Returns how many."""
        try:
            claim = await self._claim(free)
        except DATABASE_ERRORS as exc:
            # Postgres unreachable for a moment: the rows stay pending; try again later.
            log.warning("webhooks not claimed, will retry: %s", exc)
            return 0
        for delivery in claim.deliveries:
            task = asyncio.create_task(self._deliver(claim, delivery))
            sending.add(task)
            task.add_done_callback(sent)
        return len(claim.deliveries)

    async def _claim(self, count: int) -> Claim:
        return await claims.claim(self._pool, count, self._lease_s, self.claimant)

    async def _deliver(self, claim: Claim, delivery: Delivery) -> None:
        """Posts one delivery and records the result under its claim; stopped before that, it
        gives the claim back, so the delivery is due again at once."""
        recorded = False
        try:
            attempt = await self._send(delivery)
            next_ = after(attempt, delivery.attempts + 1, datetime.now(UTC), self._policy)
            metrics.ATTEMPTS.labels(_RESULT_METRIC[next_.status]).inc()
            await self._record(claim, delivery, attempt, next_)
            recorded = True
        finally:
            if not recorded:
                await asyncio.shield(self._release(claim, delivery))

    async def _record(
        self, claim: Claim, delivery: Delivery, attempt: Attempt, next_: Next
    ) -> None:
        try:
            held = await claims.record(self._pool, claim, delivery, attempt, next_)
        except DATABASE_ERRORS as exc:
            # The lease runs out and the delivery is sent again: at least once.
            log.warning("webhook %s: result not recorded: %s", delivery.delivery_id, exc)
            return
        if not held:
            metrics.CLAIMS_LOST.inc()
            log.warning("webhook %s: lease ran out before its result", delivery.delivery_id)

    async def _release(self, claim: Claim, delivery: Delivery) -> None:
        try:
            await claims.release(self._pool, claim, [delivery.delivery_id])
        except DATABASE_ERRORS as exc:
            log.warning(
                "webhook %s not given back; due when its lease ends: %s", delivery.delivery_id, exc
            )

    async def _send(self, delivery: Delivery) -> Attempt:
        webhook_id = f"whd_{delivery.delivery_id}"
        body = orjson.dumps(
            {"id": webhook_id, "type": delivery.event_type, "data": orjson.loads(delivery.payload)}
        )
        headers = {
            "Content-Type": "application/json",
            "Loyalty-Webhook-Id": webhook_id,
            signing.HEADER: signing.signature(delivery.secret, int(self._clock_s()), body),
        }
        started = time.perf_counter()
        try:
            # The whole attempt, connecting included, is bounded: the lease counts on it.
            async with (
                asyncio.timeout(self._policy.timeout_s),
                self._client.post(
                    delivery.url, data=body, headers=headers, allow_redirects=False
                ) as answer,
            ):
                text = (await answer.content.read(ANSWER_BYTES_MAX)).decode(errors="replace")
        except TimeoutError:
            return Attempt(None, f"no answer within {self._policy.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            metrics.SECONDS.observe(time.perf_counter() - started)
        success = 200 <= answer.status < 300
        return Attempt(answer.status, None if success else text[:500])


async def _first(timeout_s: float, *events: asyncio.Event) -> None:
    """Until one of `events` is set, or `timeout_s` has passed."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
