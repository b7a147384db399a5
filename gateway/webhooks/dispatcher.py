"""Claims due deliveries from the outbox, sends them signed, and records what happened.

A round claims up to `batch_max` deliveries with a lease (gateway.webhooks.claims, one statement
committed at once), posts them all concurrently with no transaction open, each attempt bounded
by the policy's timeout, and records each result as soon as it is known. Several dispatchers
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
from gateway.webhooks.policy import Attempt, DeliveryPolicy, after
from gateway.webhooks.wakeups import Wakeups

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 30.0
# Of a receiver's answer, read: its start is kept as the error of a refused delivery, and an answer
# read to its end lets the connection serve the next post.
ANSWER_BYTES_MAX = 4_096
_RESULT_METRIC = {"delivered": "delivered", "pending": "retry", "failed": "failed"}
_DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


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
        """One round: every due delivery up to `batch_max`, sent concurrently. Returns how many.
        Cancelled mid-round, it gives back the claims whose result it has not recorded."""
        claim = await claims.claim(self._pool, self._batch_max, self._lease_s, self.claimant)
        unrecorded = {delivery.delivery_id for delivery in claim.deliveries}
        try:
            await asyncio.gather(*(self._deliver(claim, d, unrecorded) for d in claim.deliveries))
        finally:
            if unrecorded:
                await asyncio.shield(self._release(claim, sorted(unrecorded)))
        return len(claim.deliveries)

    async def run(self, stop: asyncio.Event, poll_s: float, wakeups: Wakeups) -> None:
        """Deliver until `stop` (the round in flight is finished); woken by the outbox trigger's
        NOTIFY, or every `poll_s` (for retries that fall due and for a lost notification)."""
        while not stop.is_set():
            await wakeups.listen()
            wakeups.event.clear()
            if await self._round() == self._batch_max:
                continue
            waits = [asyncio.ensure_future(e.wait()) for e in (wakeups.event, stop)]
            await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def _round(self) -> int:
        try:
            return await self.deliver_due()
        except _DATABASE_ERRORS as exc:
            # Postgres unreachable for a moment: the rows stay pending; try at the next round.
            log.warning("webhook round failed, will retry: %s", exc)
            return 0

    async def _deliver(self, claim: Claim, delivery: Delivery, unrecorded: set[int]) -> None:
        attempt = await self._send(delivery)
        next_ = after(attempt, delivery.attempts + 1, datetime.now(UTC), self._policy)
        metrics.ATTEMPTS.labels(_RESULT_METRIC[next_.status]).inc()
        try:
            held = await claims.record(self._pool, claim, delivery, attempt, next_)
        except _DATABASE_ERRORS as exc:
            # The lease runs out and the delivery is sent again: at least once.
            log.warning("webhook %s: result not recorded: %s", delivery.delivery_id, exc)
            held = True
        unrecorded.discard(delivery.delivery_id)
        if not held:
            metrics.CLAIMS_LOST.inc()
            log.warning("webhook %s: lease ran out before its result", delivery.delivery_id)

    async def _release(self, claim: Claim, delivery_ids: list[int]) -> None:
        try:
            await claims.release(self._pool, claim, delivery_ids)
        except _DATABASE_ERRORS as exc:
            log.warning("webhooks %s not released; due when the lease ends: %s", delivery_ids, exc)

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
