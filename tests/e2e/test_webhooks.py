"""mgPass webhooks end to end: an event published through the gateway and booked by the ledger
reaches the partner's endpoint as a signed `points.awarded` notification."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import orjson
import pytest

from deploy.local.settings import LocalSettings
from gateway.webhooks import signing, subscriptions
from tests.e2e.conftest import DATABASE, Credentials, new_user
from tests.integration.webhooks.receiver import receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(system: tuple[LocalSettings, Credentials]) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(system[0].database_url(DATABASE), min_size=1) as pool:
        yield pool


async def test_a_booked_award_is_notified_to_the_subscribed_endpoint(
    gateway: httpx.AsyncClient, credentials: Credentials, pool: asyncpg.Pool
) -> None:
    with receiver() as endpoint:
        subscription_id = f"e2e-{uuid.uuid4().hex[:8]}"
        secret = await subscriptions.create(
            pool, subscription_id, "demo", endpoint.url("/ok"), ["points.awarded"]
        )
        try:
            response = await gateway.post(
                "/api/partner/events",
                json={"user_id": new_user(), "event_type": "article_read"},
                headers={"X-API-Key": credentials.demo},
            )
            assert response.status_code == 200, response.text
            event_id = response.json()["event_id"]
            async with asyncio.timeout(30):
                # The receiver runs in its own thread: polling its list is the simple way.
                while not any(event_id.encode() in r.body for r in endpoint.received):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await pool.execute(
                "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1",
                subscription_id,
            )
    (sent,) = [r for r in endpoint.received if event_id.encode() in r.body]
    assert signing.verify(secret, sent.headers[signing.HEADER], sent.body, int(time.time()))
    body = orjson.loads(sent.body)
    assert (body["type"], body["data"]["points"], body["data"]["programme_id"]) == (
        "points.awarded",
        5,
        "demo",
    )


async def test_the_webhooks_process_serves_its_attempts_on_its_own_port(
    system: tuple[LocalSettings, Credentials],
    gateway: httpx.AsyncClient,
    credentials: Credentials,
    pool: asyncpg.Pool,
) -> None:
    """The gateway no longer sends webhooks: the webhooks process does, and counts them."""
    with receiver() as endpoint:
        subscription_id = f"e2e-{uuid.uuid4().hex[:8]}"
        await subscriptions.create(pool, subscription_id, "demo", endpoint.url("/ok"), [])
        try:
            response = await gateway.post(
                "/api/partner/events",
                json={"user_id": new_user(), "event_type": "article_read"},
                headers={"X-API-Key": credentials.demo},
            )
            event_id = response.json()["event_id"]
            async with asyncio.timeout(30):
                while not any(event_id.encode() in r.body for r in endpoint.received):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            await pool.execute(
                "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1",
                subscription_id,
            )
    metrics_url = f"http://127.0.0.1:{system[0].webhooks_metrics_port}/metrics"
    exported = (await gateway.get(metrics_url)).text
    (delivered,) = [
        line
        for line in exported.splitlines()
        if line.startswith('loyalty_webhooks_attempts_total{result="delivered"}')
    ]
    assert float(delivered.split()[-1]) >= 1
    assert "loyalty_webhooks" not in (await gateway.get("/metrics/")).text
