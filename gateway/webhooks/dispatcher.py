"""Claims due deliveries from the outbox, sends them signed, and records what happened.

A delivery is claimed with FOR UPDATE SKIP LOCKED inside a transaction that lasts until its
result is recorded: several gateway instances share the work, and a dispatcher that dies
mid-send leaves its rows pending for the next one (at least once; receivers deduplicate on the
`Loyalty-Webhook-Id` header)."""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import orjson

from gateway.webhooks import metrics, signing
from gateway.webhooks.policy import Attempt, DeliveryPolicy, Next, after

log = logging.getLogger(__name__)

CHANNEL = "webhook_deliveries"

_CLAIM = """
    SELECT d.delivery_id, d.event_type, d.payload::text AS payload, d.attempts, s.url, s.secret
    FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s USING (subscription_id)
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.active
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED"""

_RECORD = """
    UPDATE webhook_deliveries
    SET status = $2, attempts = attempts + 1, next_attempt_at = coalesce($3, next_attempt_at),
        last_http_status = $4, last_error = $5,
        finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
    WHERE delivery_id = $1"""

_RESULT_METRIC = {"delivered": "delivered", "pending": "retry", "failed": "failed"}


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: httpx.AsyncClient,
        policy: DeliveryPolicy,
        batch_max: int = 100,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._client = client
        self._policy = policy
        self._batch_max = batch_max
        self._clock_s = clock_s

    async def deliver_due(self) -> int:
        """One round: every due delivery up to `batch_max`, sent concurrently. Returns how many."""
        async with self._pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(_CLAIM, self._batch_max)
            if not rows:
                return 0
            attempts = await asyncio.gather(*(self._send(row) for row in rows))
            now = datetime.now(UTC)
            results = [
                _recorded(row, attempt, after(attempt, row["attempts"] + 1, now, self._policy))
                for row, attempt in zip(rows, attempts, strict=True)
            ]
            await connection.executemany(_RECORD, results)
        return len(rows)

    async def run(self, stop: asyncio.Event, poll_s: float) -> None:
        """Deliver until `stop`; woken by the outbox trigger's NOTIFY, or every `poll_s` (for
        retries that fall due and for a lost notification)."""
        wake = asyncio.Event()

        def notified(*_: object) -> None:
            wake.set()

        listener = await self._pool.acquire()
        await listener.add_listener(CHANNEL, notified)
        try:
            while not stop.is_set():
                wake.clear()
                if await self._round() == self._batch_max:
                    continue
                waits = [asyncio.ensure_future(e.wait()) for e in (wake, stop)]
                await asyncio.wait(waits, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            await listener.remove_listener(CHANNEL, notified)
            await self._pool.release(listener)

    async def _round(self) -> int:
        try:
            return await self.deliver_due()
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            # Postgres unreachable for a moment: the rows stay pending; try at the next round.
            log.warning("webhook round failed, will retry: %s", exc)
            return 0

    async def _send(self, row: Any) -> Attempt:
        body = orjson.dumps(
            {
                "id": f"whd_{row['delivery_id']}",
                "type": row["event_type"],
                "data": orjson.loads(row["payload"]),
            }
        )
        headers = {
            "Content-Type": "application/json",
            "Loyalty-Webhook-Id": f"whd_{row['delivery_id']}",
            signing.HEADER: signing.signature(row["secret"], int(self._clock_s()), body),
        }
        started = time.perf_counter()
        try:
            answer = await self._client.post(
                row["url"], content=body, headers=headers, timeout=self._policy.timeout_s
            )
        except httpx.HTTPError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            metrics.SECONDS.observe(time.perf_counter() - started)
        return Attempt(answer.status_code, None if answer.is_success else answer.text[:500])


def _recorded(row: Any, attempt: Attempt, next_: Next) -> tuple[object, ...]:
    metrics.ATTEMPTS.labels(_RESULT_METRIC[next_.status]).inc()
    return (
        row["delivery_id"],
        next_.status,
        next_.retry_at,
        attempt.http_status,
        attempt.error,
    )
