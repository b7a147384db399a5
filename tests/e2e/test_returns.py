"""Returns and refunds on the real services, through the partner API: earn, a partial return,
a second return, an over-return refused with its reason, the first return repeated (answered
again, nothing more taken), a return of an unknown original; points already spent under each
policy (`shortfall`, `negative_balance`); the `points.returned` webhook queued; a return 40
events after its original frees the cap and the rule budget the original used."""

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from tests.e2e.conftest import DATABASE, Credentials, new_user

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(system: tuple[LocalSettings, Credentials]) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(
        system[0].database_url(DATABASE), min_size=1, max_size=2
    ) as created:
        yield created


async def key_of(pool: asyncpg.Pool, programme_id: str) -> str:
    issued = await api_keys.create(pool, programme_id, "e2e-partner", "production")
    return issued.secret


async def publish(
    gateway: httpx.AsyncClient, key: str, user_id: str, event_type: str, **metadata: Any
) -> dict[str, Any]:
    body = {"user_id": user_id, "event_type": event_type, "metadata": metadata}
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def balance(gateway: httpx.AsyncClient, key: str, user_id: str) -> dict[str, Any]:
    response = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def a_return(reference: str, original: str, amount: float) -> dict[str, Any]:
    return {"reference_id": reference, "original_reference_id": original, "amount": amount}


async def test_partial_returns_an_over_return_and_a_repeat(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    key = await key_of(pool, "e2e-returns")
    await pool.execute(
        """INSERT INTO webhook_subscriptions (subscription_id, programme_id, url, secret,
                                              event_types)
           VALUES ($1, 'e2e-returns', 'http://127.0.0.1:9/hooks', $2,
                   ARRAY['points.returned'])""",
        f"wh-{uuid.uuid4().hex[:8]}",
        "whsec_" + secrets.token_urlsafe(32),
    )
    user, order = new_user(), f"order-{uuid.uuid4().hex[:8]}"
    earned = await publish(gateway, key, user, "purchase", reference_id=order, amount=100)
    assert earned["points_awarded"] == 100
    first = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r1", order, 30)
    )
    second = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r2", order, 50.5)
    )
    assert (first["points_awarded"], second["points_awarded"]) == (-30, -50)
    over = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r3", order, 20)
    )
    assert (over["points_awarded"], over["reason_code"]) == (0, "over_return")
    repeat = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r1", order, 30)
    )
    assert repeat["points_awarded"] == -30
    assert repeat["event_id"] == first["event_id"]
    unknown = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r4", "nope", 1)
    )
    assert (unknown["points_awarded"], unknown["reason_code"]) == (0, "unknown_original")
    assert (await balance(gateway, key, user))["balance"] == 20
    rows = await pool.fetch(
        """SELECT e.points, o.source_event_id AS original
           FROM ledger.entries e JOIN ledger.entries o ON o.entry_id = e.reverses_entry_id
           WHERE e.programme_id = 'e2e-returns' AND e.user_id = $1 AND e.variety = 'Return'
           ORDER BY e.entry_id""",
        user,
    )
    assert [row["points"] for row in rows] == [30, 50]
    assert {row["original"] for row in rows} == {earned["event_id"]}
    hooks = await pool.fetch(
        """SELECT payload FROM webhook_deliveries
           WHERE event_type = 'points.returned' AND payload ->> 'user_id' = $1
           ORDER BY created_at, command_id""",
        user,
    )
    payloads = [orjson.loads(hook["payload"]) for hook in hooks]
    assert sorted((p["points"], p["amount"], p["shortfall"]) for p in payloads) == [
        (30, 30, 0), (50, 50.5, 0),
    ]  # fmt: skip
    assert {p["original_event_id"] for p in payloads} == {earned["event_id"]}


@pytest.mark.parametrize(
    ("programme_id", "taken", "after", "available", "reason_code"),
    [
        ("e2e-returns", -10, 0, 0, "return_shortfall"),
        ("e2e-returns-negative", -100, -90, 0, None),
    ],
)
async def test_points_already_spent_follow_the_programmes_policy(
    gateway: httpx.AsyncClient,
    pool: asyncpg.Pool,
    programme_id: str,
    taken: int,
    after: int,
    available: int,
    reason_code: str | None,
) -> None:
    key = await key_of(pool, programme_id)
    user, order = new_user(), f"order-{uuid.uuid4().hex[:8]}"
    await publish(gateway, key, user, "purchase", reference_id=order, amount=100)
    spent = await publish(gateway, key, user, "reward", reference_id=f"{order}-reward")
    assert spent["points_awarded"] == -90
    returned = await publish(
        gateway, key, user, "purchase.returned", **a_return(f"{order}-r1", order, 100)
    )
    assert (returned["points_awarded"], returned["reason_code"]) == (taken, reason_code)
    shown = await balance(gateway, key, user)
    assert (shown["balance"], shown["available"]) == (after, available)
    refused = await publish(gateway, key, user, "reward", reference_id=f"{order}-reward-2")
    assert (refused["status"], refused["reason_code"]) == ("rejected", "insufficient_points")
    later = await publish(gateway, key, user, "purchase", reference_id=f"{order}-2", amount=95)
    assert later["points_awarded"] == 95
    assert (await balance(gateway, key, user))["balance"] == after + 95


async def publish_at(
    gateway: httpx.AsyncClient, key: str, user_id: str, event_type: str, at: str, **metadata: Any
) -> dict[str, Any]:
    body = {"user_id": user_id, "event_type": event_type, "occurred_at": at, "metadata": metadata}
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_return_forty_events_on_frees_the_monthly_cap_and_the_budget(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The purchase rule pays at most 100 a month to a user and 150 in all (e2e-giveback.yaml).
    All events carry one instant, so a month's end during the test changes nothing."""
    key = await key_of(pool, "e2e-giveback")
    buyer, other, order = new_user(), new_user(), f"order-{uuid.uuid4().hex[:8]}"
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    earned = await publish_at(gateway, key, buyer, "purchase", at, reference_id=order, amount=100)
    assert earned["points_awarded"] == 100
    for number in range(40):  # the purchase leaves the processors' window of applied events
        reference = f"{order}-v{number}"
        visit = await publish_at(gateway, key, buyer, "visit", at, reference_id=reference)
        assert visit["points_awarded"] == 0
    capped = await publish_at(
        gateway, key, buyer, "purchase", at, reference_id=f"{order}-2", amount=50
    )
    assert capped["points_awarded"] == 0  # the month's cap is used up
    returned = await publish_at(
        gateway, key, buyer, "purchase.returned", at, **a_return(f"{order}-r1", order, 100)
    )
    assert returned["points_awarded"] == -100
    freed = await publish_at(
        gateway, key, buyer, "purchase", at, reference_id=f"{order}-3", amount=100
    )
    assert freed["points_awarded"] == 100  # the cap and the budget are free again
    again = await publish_at(
        gateway, key, buyer, "purchase.returned", at, **a_return(f"{order}-r1", order, 100)
    )
    assert again["event_id"] == returned["event_id"]
    rest = await publish_at(
        gateway, key, other, "purchase", at, reference_id=f"{order}-other", amount=100
    )
    assert rest["points_awarded"] == 50  # 150 in all: given back once, not twice
    explanation = await pool.fetchval(
        "SELECT explanation::text FROM ledger.command_outcomes WHERE command_id = $1",
        returned["event_id"],
    )
    given_back = orjson.loads(explanation)["given_back"]
    assert given_back["original_event_id"] == earned["event_id"]
    assert (given_back["monthly_cap_points"], given_back["budget_points"]) == (
        100, {"purchase": 100},
    )  # fmt: skip
