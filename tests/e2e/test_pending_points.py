"""Pending points on the real services, driven by the events' time and the scheduler's day,
never by sleeping: a purchase's points are held back (visible in the balance's pending block,
not in the balance), made available by an order.completed event naming the purchase's
reference, or by the scheduler's day when the return window ends; each award once. A partial
return while the points are pending cancels its share, and the day releases only the rest,
which then expires at the programme's midnight."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from schemas.ledger import Variety
from tests.e2e.conftest import Credentials, RunTopics, entries_of, new_user, scheduler_emit
from tests.e2e.test_points_expiry import finished

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e-pending"
ZONE = ZoneInfo("Africa/Accra")
RELEASE = Variety.POINTS_RELEASE


@pytest.fixture
async def key(pool: asyncpg.Pool) -> str:
    issued = await api_keys.create(pool, PROGRAMME, "e2e-partner", "production")
    return issued.secret


async def send(gateway: httpx.AsyncClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def purchase(
    gateway: httpx.AsyncClient, key: str, user_id: str, reference: str, amount: int, at: datetime
) -> None:
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "occurred_at": at.isoformat(),
        "metadata": {"reference_id": reference, "amount": amount},
    }
    assert (await send(gateway, key, body))["points_awarded"] == amount


async def balance(gateway: httpx.AsyncClient, key: str, user_id: str) -> dict[str, Any]:
    response = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


async def until_available(
    gateway: httpx.AsyncClient, key: str, user_id: str, points: int, deadline_s: float = 30.0
) -> dict[str, Any]:
    """The balance once `points` are available (a confirmation's outcome is answered before
    every later read sees it only if it was answered 200: it was)."""
    deadline = time.monotonic() + deadline_s
    shown = await balance(gateway, key, user_id)
    while shown["balance"] != points and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        shown = await balance(gateway, key, user_id)
    assert shown["balance"] == points, shown
    return shown


async def test_pending_points_released_by_confirmation_then_by_the_schedulers_day(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    user_id = new_user()
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    first, second = f"order-{uuid.uuid4().hex[:10]}", f"order-{uuid.uuid4().hex[:10]}"

    # Earned now: pending until today + 3 or until order.completed names it.
    await purchase(gateway, key, user_id, first, 50, now)
    shown = await balance(gateway, key, user_id)
    assert (shown["balance"], shown["available"], shown["pending"]["points"]) == (0, 0, 50)
    [held] = shown["pending"]["awards"]
    assert (held["reference_id"], held["points"], held["confirmed_by"]) == (
        first, 50, "order.completed",
    )  # fmt: skip
    assert held["release_on"] == str(today + timedelta(days=3))
    assert datetime.fromisoformat(held["release_at"]) == datetime(
        *(today + timedelta(days=3)).timetuple()[:3], tzinfo=ZONE
    )

    # The order completes: its points are available at once, expiring 30 days on.
    confirming = {
        "user_id": user_id,
        "event_type": "order.completed",
        "metadata": {"reference_id": f"done-{first}", "original_reference_id": first},
    }
    assert (await send(gateway, key, confirming))["points_awarded"] == 0
    shown = await until_available(gateway, key, user_id, 50)
    assert shown["pending"] == {"points": 0, "awards": []}
    assert [(e["expires_on"], e["points"]) for e in shown["expiring"]] == [
        (str(today + timedelta(days=30)), 50)
    ]

    # Earned two local days ago: its window ends at the midnight beginning today + 1.
    await purchase(gateway, key, user_id, second, 20, now - timedelta(days=2))
    due = today + timedelta(days=1)
    shown = await balance(gateway, key, user_id)
    assert (shown["balance"], shown["pending"]["points"]) == (50, 20)
    assert [award["release_on"] for award in shown["pending"]["awards"]] == [str(due)]
    sent = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, due)
    assert sent.returncode == 0, sent.stderr
    await finished(pool, f"release:{PROGRAMME}:{due}")
    shown = await balance(gateway, key, user_id)
    assert (shown["balance"], shown["pending"]["points"]) == (70, 0)
    assert [(e["expires_on"], e["points"]) for e in shown["expiring"]] == [
        (str(today + timedelta(days=30)), 50),
        (str(due + timedelta(days=30)), 20),
    ]
    awards = await pool.fetch(
        """SELECT idempotency_key FROM ledger.entries
           WHERE programme_id = $1 AND user_id = $2 AND pending IS NOT NULL
           ORDER BY entry_id""",
        PROGRAMME,
        user_id,
    )
    first_award, second_award = (row[0] for row in awards)
    releases = await entries_of(pool, PROGRAMME, user_id, RELEASE, "idempotency_key")
    assert releases == [
        (f"release:{first_award}", 50),
        (f"release:{second_award}", 20),
    ]

    # The day again, and the first order completed again: nothing is released twice.
    again = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, due)
    assert again.returncode == 0, again.stderr
    confirming["metadata"] = {"reference_id": f"again-{first}", "original_reference_id": first}
    await send(gateway, key, confirming)
    assert (await balance(gateway, key, user_id))["balance"] == 70
    assert len(await entries_of(pool, PROGRAMME, user_id, RELEASE, "idempotency_key")) == 2
    transactions = await gateway.get(
        f"/api/partner/users/{user_id}/transactions", headers={"X-API-Key": key}
    )
    assert transactions.status_code == 200, transactions.text
    # Each award is listed when booked (its points not in the balance), with where it stands.
    assert [
        (item["variety"], item["value"], item["balance"], item["status"])
        for item in transactions.json()["transactions"]
    ] == [
        ("Programme Points", 50, 0, "available"),
        ("Points Release", 50, 50, None),
        ("Programme Points", 20, 50, "available"),
        ("Points Release", 20, 70, None),
    ]


async def test_a_partial_return_cancels_pending_points_then_the_rest_is_released_and_expires(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    user_id = new_user()
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    order = f"order-{uuid.uuid4().hex[:10]}"
    # Earned a local day ago: pending until the midnight that begins today + 2 (a day the
    # scheduler has not run yet, whichever test runs first).
    await purchase(gateway, key, user_id, order, 100, now - timedelta(days=1))
    returning = {
        "user_id": user_id,
        "event_type": "purchase.returned",
        "metadata": {"reference_id": f"{order}-r1", "original_reference_id": order, "amount": 30},
    }
    returned = await send(gateway, key, returning)
    assert returned["points_awarded"] == 0  # nothing of the available balance taken
    assert (await send(gateway, key, returning))["event_id"] == returned["event_id"]
    shown = await balance(gateway, key, user_id)
    assert (shown["balance"], shown["pending"]["points"]) == (0, 70)
    assert [award["points"] for award in shown["pending"]["awards"]] == [70]

    due = today + timedelta(days=2)
    sent = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, due)
    assert sent.returncode == 0, sent.stderr
    await finished(pool, f"release:{PROGRAMME}:{due}")
    shown = await balance(gateway, key, user_id)
    assert (shown["balance"], shown["pending"]["points"]) == (70, 0)  # never the cancelled 30
    expires_on = due + timedelta(days=30)
    assert [(e["expires_on"], e["points"]) for e in shown["expiring"]] == [(str(expires_on), 70)]
    [(release_key, released)] = await entries_of(
        pool, PROGRAMME, user_id, RELEASE, "idempotency_key"
    )
    assert released == 70
    cancellations = await pool.fetch(
        """SELECT points, pending_of FROM ledger.entries
           WHERE programme_id = $1 AND user_id = $2 AND variety = 'Return'""",
        PROGRAMME,
        user_id,
    )
    assert [(row["points"], f"release:{row['pending_of']}") for row in cancellations] == [
        (30, release_key)
    ]

    sent = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, expires_on)
    assert sent.returncode == 0, sent.stderr
    await finished(pool, f"expire:{PROGRAMME}:{expires_on}")
    assert (await balance(gateway, key, user_id))["balance"] == 0
    expired = await pool.fetchval(
        """SELECT sum(points) FROM ledger.entries
           WHERE programme_id = $1 AND user_id = $2 AND variety = 'Points Expiry'""",
        PROGRAMME,
        user_id,
    )
    assert expired == 70
