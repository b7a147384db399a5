"""The points lifecycle where users look (issue 16), on the whole e2e system: a pending award is
a transaction of its own in every list (the mgPass partner API, MyRewards, Kwegg, the admin API
and the console's user page), with where it stands (pending with the day it becomes available,
then available once released, or cancelled by a return); Kwegg's balance and MyRewards' user
show the tier with its review day and the progress to the next tier; the console's webhook page
offers every webhook type, and a webhook subscribed there to `points.available` alone receives
it when a pending award is released."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson
import pytest
from playwright.async_api import Page, expect

from gateway.admin import api_keys
from gateway.webhooks.subscriptions import KNOWN_EVENT_TYPES
from tests.e2e.console.conftest import Accounts, bearer, log_in, screenshot
from tests.integration.webhooks.receiver import receiver

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e-lists"  # tests/e2e/programmes/e2e-lists.yaml
ZONE = ZoneInfo("Africa/Accra")
SEEN_WITHIN_S = 30.0


@pytest.fixture
async def key(pool: asyncpg.Pool) -> str:
    issued = await api_keys.create(pool, PROGRAMME, "e2e-partner", "production")
    return issued.secret


async def myrewards_user(pool: asyncpg.Pool) -> int:
    """A MyRewards user of the programme (its ledger user is `str(id)`)."""
    name = f"lists-{uuid.uuid4().hex[:10]}"
    found = await pool.fetchval(
        """INSERT INTO myrewards_users (programme_id, identity_key, username, firstname,
                                        lastname, tsandcs)
           VALUES ($1, $2, $2, 'Lois', 'Lane', true) RETURNING user_id""",
        PROGRAMME,
        name,
    )
    return int(found)


async def publish(
    gateway: httpx.AsyncClient, key: str, user_id: str, event_type: str, **metadata: Any
) -> dict[str, Any]:
    response = await gateway.post(
        "/api/partner/events",
        json={"user_id": user_id, "event_type": event_type, "metadata": metadata},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def partner_list(gateway: httpx.AsyncClient, key: str, user_id: str) -> list[Any]:
    response = await gateway.get(
        f"/api/partner/users/{user_id}/transactions", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["transactions"]
    return items


async def until_balance(gateway: httpx.AsyncClient, key: str, user_id: str, points: int) -> None:
    deadline = time.monotonic() + SEEN_WITHIN_S
    while True:
        response = await gateway.get(
            f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
        )
        if response.json().get("balance") == points:
            return
        assert time.monotonic() < deadline, response.text
        await asyncio.sleep(0.1)


async def kwegg(gateway: httpx.AsyncClient, key: str, user_id: str) -> dict[str, str]:
    headers = {"License-Key": key, "Platform": "RAW"}
    logged = await gateway.post("/userauth/user/tenant/login", json={"userId": user_id},
                                headers=headers)  # fmt: skip
    assert logged.status_code == 200, logged.text
    assert logged.json()["data"]["user"]["tier"] == "Silver"
    return headers | {"Authorization": logged.json()["data"]["accessToken"]}


async def test_a_pending_award_is_listed_with_its_status_everywhere_and_the_tier_with_progress(
    page: Page,
    accounts: Accounts,
    api: httpx.AsyncClient,
    gateway_client: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    member = await myrewards_user(pool)
    user = str(member)
    today = datetime.now(UTC).astimezone(ZONE).date()
    kept, returned = f"order-{uuid.uuid4().hex[:8]}", f"order-{uuid.uuid4().hex[:8]}"
    assert (await publish(gateway_client, key, user, "purchase", reference_id=kept,
                          amount=60))["points_awarded"] == 60  # fmt: skip
    assert (await publish(gateway_client, key, user, "purchase", reference_id=returned,
                          amount=50))["points_awarded"] == 50  # fmt: skip

    # Both pending: listed as awarded, neither in the balance.
    listed = await partner_list(gateway_client, key, user)
    assert [(t["variety"], t["value"], t["balance"], t["status"], t["available_on"])
            for t in listed] == [
        ("Programme Points", 60, 0, "pending", str(today + timedelta(days=3))),
        ("Programme Points", 50, 0, "pending", str(today + timedelta(days=3))),
    ]  # fmt: skip
    assert listed[0]["pending"]["reference_id"] == kept
    assert listed[0]["pending"]["confirmed_by"] == "order.completed"
    # The console's user page shows them beside the balance.
    await log_in(page, accounts.owner)
    await page.goto(f"/programmes/{PROGRAMME}/users/{user}")
    pending = page.locator("dl.summary > div").filter(has=page.locator("dt", has_text="Pending"))
    await expect(pending.locator("dd.big")).to_have_text("110 points")
    await expect(pending).to_contain_text("not in the balance; 2 awards, the first available on")

    # One returned in full (its pending points cancelled), the other confirmed (released).
    await publish(
        gateway_client, key, user, "purchase.returned",
        reference_id=f"{returned}-r", original_reference_id=returned, amount=50,
    )  # fmt: skip
    await publish(
        gateway_client, key, user, "order.completed",
        reference_id=f"{kept}-done", original_reference_id=kept,
    )  # fmt: skip
    await until_balance(gateway_client, key, user, 60)

    listed = await partner_list(gateway_client, key, user)
    assert [(t["variety"], t["value"], t["balance"], t["status"]) for t in listed] == [
        ("Programme Points", 60, 0, "available"),
        ("Programme Points", 50, 0, "cancelled"),
        ("Points Release", 60, 60, None),
    ]
    assert listed[0]["available_on"] == str(today)  # released today, before its window ended
    assert listed[0]["pending"] == {
        "points": 60, "pending_points": 0, "released_points": 60, "cancelled_points": 0,
        "reference_id": kept, "confirmed_by": "order.completed",
    }  # fmt: skip
    assert listed[1]["pending"]["cancelled_points"] == 50
    assert listed[1]["available_on"] is None

    # MyRewards: the seed's fields only, where the award says where it stands in words.
    auth = {"Authorization": f"Token token={key}"}
    mine = await gateway_client.get(f"/api/v2/users/{member}/transactions", headers=auth)
    assert mine.status_code == 200, mine.text
    assert [(t["transaction_type"], t["value"], t["balance"]) for t in mine.json()] == [
        ("programme points", 60, 0),
        ("programme points", 50, 0),
        ("points release", 60, 60),
    ]
    assert [t["description"] for t in mine.json()[:2]] == [
        f"purchase earned with rule purchase v1 (available since {today})",
        "purchase earned with rule purchase v1 (cancelled by a return)",
    ]
    assert set(mine.json()[0]) == set(mine.json()[2])  # no field the seed does not have
    last = await gateway_client.get(f"/api/v2/users/{member}/transactions/last", headers=auth)
    assert (last.json()["transaction_type"], last.json()["balance"]) == ("points release", 60)

    # MyRewards' user and Kwegg's balance: Silver (110 earned, pending points counted when
    # awarded, a return takes no progress back), reviewed in twelve months, 890 to Gold.
    person = await gateway_client.get(f"/api/v2/users/{member}", headers=auth)
    assert person.status_code == 200, person.text
    tier = person.json()["tier"]
    assert (tier["name"], tier["points_earned"], tier["next_tier"],
            tier["points_to_next_tier"]) == ("Silver", 110, "Gold", 890)  # fmt: skip
    assert tier["review_on"][:7] == f"{today.year + 1}-{today.month:02d}"  # a period on
    headers = await kwegg(gateway_client, key, user)
    balance = await gateway_client.get("/userauth/user/tenant/balance", headers=headers)
    assert balance.status_code == 200, balance.text
    data = balance.json()["data"]
    assert (data["balance"], data["pending"]) == (60, 0)
    assert data["tier"] == {"name": "Silver", "reviewOn": tier["review_on"], "pointsEarned": 110,
                            "nextTier": "Gold", "pointsToNextTier": 890}  # fmt: skip

    # Kwegg: its transaction shape, the award's status only where there is one.
    coins = await gateway_client.get("/core/user/tenant/transactions", headers=headers)
    assert coins.status_code == 200, coins.text
    found = coins.json()["data"]
    assert found["totalCount"] == 3
    assert [(t["type"], t["points"], t.get("status"), t.get("availableOn"))
            for t in found["transactions"]] == [
        ("EVENT_OCCURENCE", 60, "AVAILABLE", str(today)),
        ("EVENT_OCCURENCE", 50, "CANCELLED", None),
        ("POINTS_RELEASE", 60, None, None),
    ]  # fmt: skip

    # The admin API, newest first, and the console's user page.
    owner = accounts.owner
    answer = await api.get(f"/programmes/{PROGRAMME}/users/{user}/transactions",
                           headers=bearer(owner))  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert [(t["variety"], t["points"], t["balance_after"], t["status"])
            for t in answer.json()["transactions"]] == [
        ("Points Release", 60, 60, None),
        ("Programme Points", 50, 0, "cancelled"),
        ("Programme Points", 60, 0, "available"),
    ]  # fmt: skip
    award_id = answer.json()["transactions"][2]["entry_id"]
    why = await api.get(f"/programmes/{PROGRAMME}/users/{user}/transactions/{award_id}",
                        headers=bearer(owner))  # fmt: skip
    assert why.status_code == 200, why.text
    assert why.json()["transaction"]["pending"]["released_points"] == 60

    await page.goto(f"/programmes/{PROGRAMME}/users/{user}")
    rows = page.get_by_role("table", name=f"Transactions of {user}, newest first")
    cancelled = rows.get_by_role("row").filter(has_text="cancelled by a return")
    await expect(cancelled).to_contain_text("+50")
    await expect(cancelled).to_contain_text("not in the balance")
    available = rows.get_by_role("row").filter(has_text=f"released on {today}")
    await expect(available).to_contain_text("+60")
    await screenshot(page, "lists-user-pending-awards")


async def test_the_webhook_page_offers_every_type_and_a_lifecycle_subscription_is_delivered(
    page: Page,
    accounts: Accounts,
    api: httpx.AsyncClient,
    gateway_client: httpx.AsyncClient,
    key: str,
) -> None:
    hook = f"lifecycle-{uuid.uuid4().hex[:6]}"
    with receiver() as endpoint:
        await log_in(page, accounts.owner)
        await page.goto(f"/programmes/{PROGRAMME}/webhooks")
        for name in KNOWN_EVENT_TYPES:
            await expect(page.get_by_label(name, exact=True)).to_be_visible()
        for name in ("points.awarded", "points.deducted", "event.rejected", "tier.changed"):
            await page.get_by_label(name, exact=True).uncheck()
        await page.get_by_label("points.available", exact=True).check()
        await page.get_by_label("Webhook id").fill(hook)
        await page.get_by_label("Endpoint URL").fill(endpoint.url("/ok"))
        await page.get_by_role("button", name="Create webhook").click()
        await expect(page.get_by_text("it is shown this once")).to_be_visible()
        await screenshot(page, "lists-webhook-lifecycle-created")

        listed = await api.get(f"/programmes/{PROGRAMME}/webhooks", headers=bearer(accounts.owner))
        [made] = [w for w in listed.json() if w["subscription_id"] == hook]
        assert made["event_types"] == ["points.available"]

        user = f"lists-{uuid.uuid4().hex[:10]}"
        order = f"order-{uuid.uuid4().hex[:8]}"
        await publish(gateway_client, key, user, "purchase", reference_id=order, amount=7)
        await publish(gateway_client, key, user, "order.completed",
                      reference_id=f"{order}-done", original_reference_id=order)  # fmt: skip
        async with asyncio.timeout(SEEN_WITHIN_S):
            while not [r for r in endpoint.received if user.encode() in r.body]:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        [delivered] = [orjson.loads(r.body) for r in endpoint.received if user.encode() in r.body]
        assert delivered["type"] == "points.available"
        assert (delivered["data"]["user_id"], delivered["data"]["points"]) == (user, 7)
        await page.get_by_role("link", name="Done").click()
        rows = page.get_by_role("row").filter(has_text=hook)
        await expect(rows.first).to_contain_text("points.available")  # the webhook
        await expect(rows.filter(has_text="delivered")).to_contain_text("points.available")
        await page.get_by_role("button", name=f"Deactivate {hook}").click()
        await expect(page.get_by_role("status")).to_contain_text(f"Webhook {hook} deactivated")


async def test_the_admin_api_accepts_every_webhook_type_and_refuses_an_unknown_one(
    accounts: Accounts, api: httpx.AsyncClient
) -> None:
    owner = bearer(accounts.owner)
    hook = f"all-{uuid.uuid4().hex[:6]}"
    made = await api.post(f"/programmes/{PROGRAMME}/webhooks", headers=owner,
                          json={"subscription_id": hook, "url": "https://partner.example/h",
                                "event_types": list(KNOWN_EVENT_TYPES)})  # fmt: skip
    assert made.status_code == 201, made.text
    assert made.json()["event_types"] == list(KNOWN_EVENT_TYPES)
    refused = await api.post(f"/programmes/{PROGRAMME}/webhooks", headers=owner,
                             json={"subscription_id": f"{hook}-x", "url": "https://p.example/h",
                                   "event_types": ["points.vanished"]})  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert "event_types" in refused.json()["message"]
    gone = await api.post(f"/programmes/{PROGRAMME}/webhooks/{hook}/deactivate", headers=owner)
    assert gone.status_code == 200, gone.text
