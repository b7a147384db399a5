"""Tiers from points on the real services, driven by the events' time and the scheduler's day,
never by sleeping: the event that crosses Silver's threshold earns at Bronze and the next one at
Silver's multiplier; the change goes out as a `tier.changed` webhook and shows on the partner's
tier read; `loyalty-scheduler emit` through the day the tier's period ends sends the user's
`tier.review`, which lowers the tier by the programme's policy, once: the day sent again, or
its review replayed, changes nothing more."""

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from gateway.webhooks import subscriptions
from scheduler.tier_reviews import review_event
from schemas.topics import user_key
from tests.e2e.conftest import Credentials, RunTopics, new_user, scheduler_emit
from tests.integration.webhooks.receiver import Receiver, receiver

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e-tiers"
ZONE = ZoneInfo("Africa/Accra")


@pytest.fixture
async def key(pool: asyncpg.Pool) -> str:
    issued = await api_keys.create(pool, PROGRAMME, "e2e-partner", "production")
    return issued.secret


async def earn(gateway: httpx.AsyncClient, key: str, user_id: str, amount: int) -> int:
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {"reference_id": f"order-{uuid.uuid4().hex[:10]}", "amount": amount},
    }
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    points: int = response.json()["points_awarded"]
    return points


async def tier_changed(endpoint: Receiver, user_id: str, count: int) -> list[dict[str, Any]]:
    """The first `count` `tier.changed` notifications about the user, in the order received."""
    async with asyncio.timeout(30):
        while True:
            found = [
                orjson.loads(r.body) for r in list(endpoint.received) if user_id.encode() in r.body
            ]
            if len(found) >= count:
                return [item["data"] for item in found]
            await asyncio.sleep(0.05)


async def decided(pool: asyncpg.Pool, command_id: str) -> dict[str, Any]:
    """The stored outcome of a decision, once the ledger has it."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        explanation = await pool.fetchval(
            "SELECT explanation FROM ledger.command_outcomes WHERE command_id = $1", command_id
        )
        if explanation is not None:
            found: dict[str, Any] = orjson.loads(explanation)
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{command_id} not decided within 30 s")


async def produce(system: tuple[LocalSettings, Credentials], topic: str, *events: Any) -> None:
    """Records on events.v1 as the scheduler sends them (a replay, a second scheduler)."""
    producer = AIOKafkaProducer(bootstrap_servers=system[0].kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                value=event.model_dump_json().encode(),
                key=user_key(event.programme_id, event.user_id),
            )
    finally:
        await producer.stop()


async def test_points_raise_the_tier_and_the_schedulers_day_lowers_it_once(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    user_id = new_user()
    with receiver() as endpoint:
        subscription_id = f"e2e-tiers-{uuid.uuid4().hex[:8]}"
        await subscriptions.create(
            pool, subscription_id, PROGRAMME, endpoint.url("/ok"), ["tier.changed"]
        )
        try:
            await raised_then_lowered(system, session_topics, gateway, key, pool, user_id, endpoint)
        finally:
            await pool.execute(
                "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1",
                subscription_id,
            )


async def raised_then_lowered(
    system: tuple[LocalSettings, Credentials],
    topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
    user_id: str,
    endpoint: Receiver,
) -> None:
    headers = {"X-API-Key": key}
    assert await earn(gateway, key, user_id, 60) == 60
    assert await earn(gateway, key, user_id, 50) == 50  # crosses 100, earns at Bronze
    assert await earn(gateway, key, user_id, 10) == 20  # the next event: Silver's x2
    (upgrade,) = await tier_changed(endpoint, user_id, 1)
    assert (upgrade["from_tier"], upgrade["tier"], upgrade["reason"]) == (
        "Bronze",
        "Silver",
        "threshold_crossed",
    )
    read = await gateway.get(f"/api/partner/users/{user_id}/tier", headers=headers)
    assert read.status_code == 200, read.text
    shown = read.json()
    review_day = date.fromisoformat(shown["review_on"])
    today = datetime.now(UTC).astimezone(ZONE).date()
    assert today + timedelta(days=58) <= review_day <= today + timedelta(days=62)  # 2 months
    assert (shown["tier"], [c["reason"] for c in shown["changes"]]) == (
        "Silver",
        ["threshold_crossed"],
    )

    # The days up to the one the period ends on are sent; that day's review counts the points
    # of the month before it (window_months 1), none: period_end lowers the tier to Bronze.
    sent = await asyncio.to_thread(scheduler_emit, system, topics, PROGRAMME, review_day)
    assert sent.returncode == 0, sent.stderr
    review_id = review_event(PROGRAMME, user_id, review_day, ZONE).event_id
    lowered = await decided(pool, review_id)
    assert lowered["tier_change"]["reason"] == "downgrade_policy"
    (_, downgrade) = await tier_changed(endpoint, user_id, 2)
    assert (downgrade["from_tier"], downgrade["tier"], downgrade["reason"]) == (
        "Silver",
        "Bronze",
        "downgrade_policy",
    )

    # The same day again: the scheduler has sent it; the review replayed: a duplicate. A later
    # review (the next day's, sent by hand here) finds nothing due: still one downgrade.
    again = await asyncio.to_thread(scheduler_emit, system, topics, PROGRAMME, review_day)
    assert (again.returncode, again.stdout) == (0, "nothing to send: already sent\n")
    later = review_event(PROGRAMME, user_id, review_day + timedelta(days=1), ZONE)
    replayed = review_event(PROGRAMME, user_id, review_day, ZONE)
    await produce(system, topics.events, replayed, later)
    assert (await decided(pool, later.event_id))["reason"] == "tier review: nothing due"
    read = await gateway.get(f"/api/partner/users/{user_id}/tier", headers=headers)
    shown = read.json()
    assert (shown["tier"], shown["review_on"]) == ("Bronze", None)
    assert [c["reason"] for c in shown["changes"]] == ["downgrade_policy", "threshold_crossed"]
    count = await pool.fetchval(
        "SELECT count(*) FROM ledger.tier_changes WHERE programme_id = $1 AND user_id = $2",
        PROGRAMME,
        user_id,
    )
    assert count == 2
    assert len([r for r in endpoint.received if user_id.encode() in r.body]) == 2
