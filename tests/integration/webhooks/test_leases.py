"""Leases on the real Postgres: dispatchers claim deliveries with a lease and post them with no
transaction open; two never post one delivery at the same time, a dead dispatcher's claims are
taken when their lease runs out (and its late result is dropped), a stopped round gives its
claims back, and a slow receiver does not hold up the others' deliveries."""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY

from gateway.webhooks import claims
from gateway.webhooks.claims import Claim, Delivery
from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.policy import Attempt, DeliveryPolicy, Next
from gateway.webhooks.wakeups import Wakeups
from tests.integration.webhooks.fixtures import FAST, deliveries, outcome, subscribe
from tests.integration.webhooks.receiver import Receiver, receiver

pytestmark = pytest.mark.integration


@pytest.fixture
def slow_endpoint() -> Iterator[Receiver]:
    with receiver(slow_s=1.0) as server:
        yield server


async def received(endpoint: Receiver, count: int, path: str = "/slow") -> None:
    """Until the receiver has `count` requests on `path` (it runs in its own thread)."""
    async with asyncio.timeout(10):
        while len(endpoint.ids(path)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_two_running_dispatchers_never_post_one_delivery_at_the_same_time(
    pool: asyncpg.Pool, slow_endpoint: Receiver, client: aiohttp.ClientSession, postgres_url: str
) -> None:
    slow_endpoint.slow_s = 0.2
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    commands = [await outcome(pool, programme_id, 10) for _ in range(24)]
    stop = asyncio.Event()
    wakeups = [Wakeups(postgres_url) for _ in range(2)]
    running = [
        asyncio.create_task(Dispatcher(pool, client, FAST, batch_max=5).run(stop, 0.05, w))
        for w in wakeups
    ]
    async with asyncio.timeout(20):
        # Polling the table is the simple way to wait for two dispatchers' rounds.
        while any(r["status"] != "delivered" for r in await deliveries(pool, programme_id)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*running)
    for listening in wakeups:
        await listening.close()
    rows = await deliveries(pool, programme_id)
    assert slow_endpoint.overlapping == []
    assert len(rows) == len(commands)
    # On a loaded machine an answer can miss the attempt's timeout and the delivery is sent again
    # (at least once, as designed); what a double claim would show is a post no attempt recorded.
    posts = Counter(slow_endpoint.ids("/slow"))
    assert posts == {f"whd_{r['delivery_id']}": r["attempts"] for r in rows}
    assert {(r["claimed_by"], r["claimed_until"]) for r in rows} == {(None, None)}


async def claim_as_a_dead_dispatcher(
    pool: asyncpg.Pool, programme_id: str, lease: timedelta
) -> Claim:
    """What a dispatcher that claimed the programme's deliveries and then died left behind."""
    until = datetime.now(UTC) + lease
    rows = await pool.fetch(
        """UPDATE webhook_deliveries AS d
           SET claimed_until = $2, claimed_by = 'dead-host/1/000000'
           FROM webhook_subscriptions AS s
           WHERE s.subscription_id = d.subscription_id AND s.programme_id = $1
           RETURNING d.delivery_id, d.event_type, d.payload::text AS payload, d.attempts,
                     s.url, s.secret""",
        programme_id,
        until,
    )
    return Claim("dead-host/1/000000", until, tuple(Delivery(*row.values()) for row in rows))


async def test_a_dead_dispatchers_claim_is_taken_when_its_lease_runs_out(
    pool: asyncpg.Pool, endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    programme_id, _ = await subscribe(pool, endpoint.url("/ok"))
    await outcome(pool, programme_id, 10)
    dead = await claim_as_a_dead_dispatcher(pool, programme_id, timedelta(seconds=30))
    (delivery,) = dead.deliveries
    alive = Dispatcher(pool, client, FAST)
    while await alive.deliver_due():
        pass
    assert f"whd_{delivery.delivery_id}" not in endpoint.ids("/ok"), "taken while leased"

    await pool.execute(
        "UPDATE webhook_deliveries SET claimed_until = now() - interval '1 second' "
        "WHERE delivery_id = $1",
        delivery.delivery_id,
    )
    while await alive.deliver_due():
        pass
    assert endpoint.ids("/ok").count(f"whd_{delivery.delivery_id}") == 1
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 1, None)

    # The dead dispatcher was only slow: its result, late, no longer counts.
    late = await claims.record(pool, dead, delivery, Attempt(503, "late"), Next("pending"))
    assert late is False
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["last_http_status"]) == ("delivered", 1, 204)


def claims_lost() -> float:
    return REGISTRY.get_sample_value("loyalty_webhooks_claims_lost_total") or 0.0


async def test_a_dispatcher_whose_lease_was_taken_over_records_nothing_and_says_so(
    pool: asyncpg.Pool, slow_endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    await outcome(pool, programme_id, 10)
    lost_before = claims_lost()
    first, second = Dispatcher(pool, client, FAST), Dispatcher(pool, client, FAST)
    overtaken = asyncio.create_task(first.deliver_due())
    await received(slow_endpoint, 1)
    await pool.execute(  # the first one's lease runs out while its post is still answered
        """UPDATE webhook_deliveries SET claimed_until = now() - interval '1 second'
           WHERE claimed_by = $1""",
        first.claimant,
    )
    assert await second.deliver_due() >= 1
    assert await overtaken >= 1
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 1, None)
    assert claims_lost() == lost_before + 1
    assert slow_endpoint.overlapping == [f"whd_{row['delivery_id']}"], "sent twice at once"


@pytest.fixture
async def watched_pool(postgres_url: str) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    """A pool whose sessions pg_stat_activity can tell apart by their application name."""
    name = f"webhooks-test-{uuid.uuid4().hex[:8]}"
    async with asyncpg.create_pool(
        postgres_url, min_size=2, max_size=4, server_settings={"application_name": name}
    ) as pool:
        yield pool, name


async def test_no_transaction_is_open_while_a_delivery_is_posted(
    pool: asyncpg.Pool,
    watched_pool: tuple[asyncpg.Pool, str],
    slow_endpoint: Receiver,
    client: aiohttp.ClientSession,
    postgres_url: str,
) -> None:
    dispatcher_pool, name = watched_pool
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    stop = asyncio.Event()
    wakeups = Wakeups(f"{postgres_url}?application_name={name}")
    dispatcher = Dispatcher(dispatcher_pool, client, FAST)
    running = asyncio.create_task(dispatcher.run(stop, 30.0, wakeups))
    await outcome(pool, programme_id, 10)
    await received(slow_endpoint, 1)  # the receiver holds the post for a second from here

    sessions = await pool.fetch(
        "SELECT state, xact_start FROM pg_stat_activity WHERE application_name = $1", name
    )
    (row,) = await deliveries(pool, programme_id)
    stop.set()
    await running
    await wakeups.close()
    assert len(sessions) >= 3, "the dispatcher's pool and its listener are watched"
    assert [s for s in sessions if s["xact_start"] is not None] == []
    assert {s["state"] for s in sessions} == {"idle"}
    assert row["claimed_by"] == dispatcher.claimant, "posted under a claim"
    assert row["status"] == "pending"
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["claimed_by"]) == ("delivered", None)


async def test_a_cancelled_round_gives_its_claims_back(
    pool: asyncpg.Pool, slow_endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    await outcome(pool, programme_id, 10)
    dispatcher = Dispatcher(pool, client, FAST)
    round_ = asyncio.create_task(dispatcher.deliver_due())
    await received(slow_endpoint, 1)
    round_.cancel()
    with pytest.raises(asyncio.CancelledError):
        await round_
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["claimed_by"], row["claimed_until"]) == (
        "pending",
        0,
        None,
        None,
    )
    while await dispatcher.deliver_due():  # due again at once: sent again (at least once)
        pass
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert len(slow_endpoint.ids("/slow")) == 2


async def test_a_slow_receiver_holds_only_its_own_slots(
    pool: asyncpg.Pool, client: aiohttp.ClientSession, postgres_url: str
) -> None:
    patient = DeliveryPolicy(attempts_max=3, backoff_first_s=0.01, timeout_s=5.0)
    with receiver(slow_s=3.0) as slow_endpoint, receiver() as fast_endpoint:
        slow, _ = await subscribe(pool, slow_endpoint.url("/slow"))
        fast, _ = await subscribe(pool, fast_endpoint.url("/ok"))
        stop = asyncio.Event()
        wakeups = Wakeups(postgres_url)
        running = asyncio.create_task(
            Dispatcher(pool, client, patient, batch_max=4).run(stop, 30.0, wakeups)
        )
        await outcome(pool, slow, 10)
        await received(slow_endpoint, 1)  # its answer comes 3 s from here
        started = time.monotonic()
        for _ in range(10):
            await outcome(pool, fast, 10)
        async with asyncio.timeout(10):
            # Polling the table is the simple way to wait for the running dispatcher.
            while any(r["status"] != "delivered" for r in await deliveries(pool, fast)):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        fast_done_s = time.monotonic() - started
        (slow_row,) = await deliveries(pool, slow)
        stop.set()
        await running
        await wakeups.close()
    assert fast_done_s < 2.0, "delivered while the slow post was still in flight"
    assert slow_row["status"] == "pending"
    (slow_row,) = await deliveries(pool, slow)
    assert (slow_row["status"], slow_row["attempts"]) == ("delivered", 1), "finished on stop"
