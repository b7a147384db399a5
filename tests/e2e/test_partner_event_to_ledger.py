"""The seed's two example requests travel HTTP → Kafka → faust → Kafka → ledger writer → Postgres,
and a retried reference_id is booked once."""

import asyncio
import uuid
from collections.abc import Mapping

import httpx
import pytest

from tests.e2e.conftest import DEMO_API_KEY

pytestmark = pytest.mark.e2e
HEADERS = {"X-API-Key": DEMO_API_KEY}
LEDGER_WAIT_S = 60.0


async def balance_reaches(gateway: httpx.AsyncClient, user_id: str, expected: int) -> int:
    """Poll the balance until it equals `expected` or the wait runs out; returns the last seen."""
    seen = -1
    async with asyncio.timeout(LEDGER_WAIT_S):
        while seen != expected:
            response = await gateway.get(f"/api/partner/users/{user_id}/balance", headers=HEADERS)
            assert response.status_code == 200, response.text
            seen = response.json()["balance"]
            if seen != expected:
                await asyncio.sleep(0.2)
    return seen


async def publish(gateway: httpx.AsyncClient, body: Mapping[str, object]) -> str:
    response = await gateway.post("/api/partner/events", json=body, headers=HEADERS)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] is True
    event_id: str = answer["event_id"]
    return event_id


async def test_the_seed_examples_reach_the_ledger_once(gateway: httpx.AsyncClient) -> None:
    user_id = f"usr_abc123-{uuid.uuid4().hex[:8]}"
    reference = f"order_789-{uuid.uuid4().hex[:8]}"
    purchase = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {
            "reference_id": reference,
            "amount": 150.00,
            "currency": "GHS",
            "item_count": 3,
        },
    }
    await publish(gateway, {"user_id": user_id, "event_type": "article_read"})
    first_id = await publish(gateway, purchase)
    assert await balance_reaches(gateway, user_id, 5 + 150) == 155

    assert await publish(gateway, purchase) == first_id
    # Same user, so same partition: once this later event is booked, the retry before it has
    # been through the whole pipeline too, and must have added nothing.
    await publish(gateway, {"user_id": user_id, "event_type": "article_read"})
    assert await balance_reaches(gateway, user_id, 155 + 5) == 160


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "lk_live_unknown_key"}, {"X-API-Key": "x"}])
async def test_a_missing_or_unknown_key_is_unauthorized(
    gateway: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"user_id": "usr_abc123", "event_type": "article_read"}
    response = await gateway.post("/api/partner/events", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "content",
    [
        b'{"event_type": "article_read"}',
        b'{"user_id": "usr_abc123"}',
        b'{"user_id": "", "event_type": "article_read"}',
        b'{"user_id": "usr_abc123", "event_type": "article_read"',
        b"[]",
    ],
)
async def test_a_malformed_body_is_an_invalid_request(
    gateway: httpx.AsyncClient, content: bytes
) -> None:
    headers = HEADERS | {"Content-Type": "application/json"}
    response = await gateway.post("/api/partner/events", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
