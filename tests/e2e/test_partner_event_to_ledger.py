"""The seed's two example requests travel HTTP → Kafka → faust → Kafka → ledger writer → Postgres
and come back with their points; a retried reference_id is booked once."""

import uuid
from collections.abc import Mapping

import httpx
import pytest

from tests.e2e.conftest import Credentials, new_user

pytestmark = pytest.mark.e2e


async def publish(
    gateway: httpx.AsyncClient, key: str, body: Mapping[str, object]
) -> dict[str, object]:
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


async def balance(gateway: httpx.AsyncClient, key: str, user_id: str) -> int:
    response = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    points: int = response.json()["balance"]
    return points


async def test_the_seed_examples_are_answered_with_their_points(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()
    purchase = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {
            "reference_id": f"order_789-{uuid.uuid4().hex[:8]}",
            "amount": 150.00,
            "currency": "GHS",
            "item_count": 3,
        },
    }
    article = await publish(
        gateway, credentials.demo, {"user_id": user_id, "event_type": "article_read"}
    )
    assert article["accepted"] is True
    assert article["points_awarded"] == 5
    assert str(article["event_id"]).startswith("evt_")
    first = await publish(gateway, credentials.demo, purchase)
    assert first["points_awarded"] == 150
    assert await balance(gateway, credentials.demo, user_id) == 155

    retried = await publish(gateway, credentials.demo, purchase)
    assert (retried["event_id"], retried["points_awarded"]) == (first["event_id"], 150)
    assert await balance(gateway, credentials.demo, user_id) == 155
