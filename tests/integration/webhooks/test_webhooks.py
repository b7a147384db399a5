"""Webhooks on the real Postgres: the outbox trigger enqueues what a programme subscribed to, in
the ledger's transaction; dispatchers deliver it signed, retry only transient failures, and two
dispatchers never send one delivery twice."""

import asyncio
import time

import aiohttp
import asyncpg
import orjson
import pytest

from gateway.webhooks import signing
from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.wakeups import Wakeups
from schemas.ledger import OutcomeStatus
from tests.integration.ledger.conftest import apply, statuses
from tests.integration.webhooks.fixtures import FAST, deliveries, outcome, subscribe
from tests.integration.webhooks.receiver import Receiver
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration


async def test_an_award_is_delivered_once_and_signed(
    pool: asyncpg.Pool, endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    programme_id, secret = await subscribe(pool, endpoint.url("/ok"), "points.awarded")
    awarded = await outcome(pool, programme_id, 150)
    await outcome(pool, programme_id, 0)  # nothing awarded: nothing to tell
    await outcome(pool, programme_id, -40)  # not subscribed to deductions
    dispatcher = Dispatcher(pool, client, FAST)
    while await dispatcher.deliver_due():
        pass
    (sent,) = [r for r in endpoint.received if programme_id.encode() in r.body]
    assert signing.verify(secret, sent.headers[signing.HEADER], sent.body, int(time.time()))
    assert not signing.verify("another-secret", sent.headers[signing.HEADER], sent.body, 0)
    body = orjson.loads(sent.body)
    assert body["type"] == "points.awarded"
    assert body["id"] == sent.headers["Loyalty-Webhook-Id"]
    assert body["data"]["event_id"] == awarded
    assert (body["data"]["points"], body["data"]["balance"]) == (150, 150)
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["last_http_status"]) == ("delivered", 1, 204)


async def test_transient_failures_are_retried_and_permanent_ones_are_not(
    pool: asyncpg.Pool, endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    flaky_programme, _ = await subscribe(pool, endpoint.url("/flaky"))
    gone_programme, _ = await subscribe(pool, endpoint.url("/gone"))
    await outcome(pool, flaky_programme, -20)
    await outcome(pool, gone_programme, 0, status="rejected")
    dispatcher = Dispatcher(pool, client, FAST)
    await dispatcher.deliver_due()
    (flaky,) = await deliveries(pool, flaky_programme)
    (gone,) = await deliveries(pool, gone_programme)
    assert (flaky["status"], flaky["last_http_status"]) == ("pending", 503)
    assert (gone["status"], gone["event_type"], gone["attempts"]) == ("failed", "event.rejected", 1)
    await asyncio.sleep(0.05)
    await dispatcher.deliver_due()
    (flaky,) = await deliveries(pool, flaky_programme)
    assert (flaky["status"], flaky["attempts"], flaky["event_type"]) == (
        "delivered",
        2,
        "points.deducted",
    )


async def test_two_dispatchers_never_send_a_delivery_twice(
    pool: asyncpg.Pool, endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    programme_id, _ = await subscribe(pool, endpoint.url("/ok"))
    commands = [await outcome(pool, programme_id, 10) for _ in range(40)]
    first, second = (Dispatcher(pool, client, FAST, batch_max=7) for _ in range(2))
    while sum(await asyncio.gather(first.deliver_due(), second.deliver_due())):
        pass
    sent = [orjson.loads(r.body)["data"]["event_id"] for r in endpoint.received]
    assert sorted(c for c in sent if c in commands) == sorted(commands)


async def test_the_running_dispatcher_is_woken_by_the_outbox(
    pool: asyncpg.Pool, endpoint: Receiver, client: aiohttp.ClientSession, postgres_url: str
) -> None:
    programme_id, _ = await subscribe(pool, endpoint.url("/ok"))
    stop = asyncio.Event()
    wakeups = Wakeups(postgres_url)
    running = asyncio.create_task(Dispatcher(pool, client, FAST).run(stop, 30.0, wakeups))
    await asyncio.sleep(0.2)
    started = time.perf_counter()
    await outcome(pool, programme_id, 5)
    async with asyncio.timeout(5):
        # The receiver runs in its own thread: polling its list is the simple way to wait.
        while not any(programme_id.encode() in r.body for r in endpoint.received):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert time.perf_counter() - started < 2.0, "woken by NOTIFY, not by the 30 s poll"
    stop.set()
    await running
    await wakeups.close()


async def test_the_ledgers_own_write_enqueues_a_booking_once_and_a_duplicate_never(
    pool: asyncpg.Pool, endpoint: Receiver
) -> None:
    """Through the writer's real statement: a command that only repeats bookings already made
    (status `duplicate`) re-announces nothing."""
    programme_id, _ = await subscribe(pool, endpoint.url("/ok"))
    first, second = f"{programme_id}-e1", f"{programme_id}-e2"
    award = booking(f"{first}:r1", 10)
    booked = await apply(pool, command(first, "alice", award, programme_id=programme_id))
    again = await apply(pool, command(second, "alice", award, programme_id=programme_id))
    assert statuses([*booked, *again]) == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.DUPLICATE,
    ]
    (row,) = await deliveries(pool, programme_id)
    assert (row["command_id"], row["event_type"]) == (first, "points.awarded")
