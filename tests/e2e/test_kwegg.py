"""The Kwegg API (seed 003) end to end: the seed's requests as written (same paths, headers and
bodies), through the processors and the ledger, and the offers redeemed through the ledger."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.local.settings import LocalSettings
from gateway import keys
from gateway.admin import api_keys
from gateway.kwegg import offers
from tests.e2e.conftest import DATABASE, Credentials

pytestmark = pytest.mark.e2e
PROGRAMME = "kwegg-e2e"


@dataclass(frozen=True)
class Tenant:
    license_key: str
    other_license_key: str  # a key of another programme (e2e)
    offer: str  # 150 points
    expensive_offer: str  # 100,000 points
    inactive_offer: str


@pytest.fixture(scope="module")
def tenant(system: tuple[LocalSettings, Credentials]) -> Tenant:
    return asyncio.run(_configure(system[0].database_url(DATABASE)))


async def _configure(database_url: str) -> Tenant:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        key = await api_keys.create(pool, PROGRAMME, "kwegg-tenant", "production")
        other = await api_keys.create(pool, "e2e", "e2e-partner", "production")
        offer = await offers.create(pool, PROGRAMME, "Free coffee", 150, description="One cup")
        expensive = await offers.create(pool, PROGRAMME, "A car", 100_000)
        inactive = await offers.create(pool, PROGRAMME, "Old offer", 1)
        await offers.set_active(pool, PROGRAMME, inactive, False)
    return Tenant(key.secret, other.secret, offer, expensive, inactive)


def new_user() -> str:
    return str(uuid.uuid4().int % 10**9)


def headers(tenant: Tenant, token: str | None = None) -> dict[str, str]:
    found = {"License-Key": tenant.license_key, "Platform": "RAW"}
    if token is not None:
        found["Authorization"] = token
    return found


async def login(gateway: httpx.AsyncClient, tenant: Tenant, user_id: str) -> str:
    answer = await gateway.post(
        "/userauth/user/tenant/login", headers=headers(tenant), json={"userId": user_id}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["data"]["accessToken"]
    return token


async def occurrence(
    gateway: httpx.AsyncClient, tenant: Tenant, token: str, user_id: str, event: dict[str, Any]
) -> httpx.Response:
    return await gateway.post(
        "/core/user/tenant/event/occurence?=",
        headers=headers(tenant, token),
        json={"userId": user_id, "event": event},
    )


async def balance(gateway: httpx.AsyncClient, tenant: Tenant, token: str, user_id: str) -> int:
    answer = await gateway.get(
        f"/userauth/user/tenant/balance?userId={user_id}&=", headers=headers(tenant, token)
    )
    assert answer.status_code == 200, answer.text
    points: int = answer.json()["data"]["balance"]
    return points


async def test_the_seeds_requests_work_as_written(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    answer = await gateway.post(
        "/userauth/user/tenant/login",
        headers={
            "License-Key": tenant.license_key,
            "Platform": "RAW",
            "Content-Type": "application/json",
        },
        content=f'{{\n    "userId":"{user}"\n}}',
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["success"], body["message"]) == (True, "Login successfully")
    assert body["data"]["user"] == {"userId": user, "balance": 0, "tier": "Base"}
    token = body["data"]["accessToken"]

    event = {"name": "product_viewed", "params": {"id": "1234"}}
    answer = await occurrence(gateway, tenant, token, user, event)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["success"], body["message"]) == (True, "Event triggered successfully")
    assert (body["data"]["status"], body["data"]["points"]) == ("processed", 2)

    for path in ("/userauth/user/tenant/balance", "/user/tenant/balance"):
        answer = await gateway.get(f"{path}?userId={user}&=", headers=headers(tenant, token))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "success": True,
            "message": "Balance fetched successfully",
            # The tier: the default one, tiers being set only by hand in this programme.
            "data": {"balance": 2, "pending": 0, "expiring": [], "tier": {"name": "Base"}},
        }

    answer = await gateway.get(
        "/core/user/tenant/transactions?page=1&numOfItems=5", headers=headers(tenant, token)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["message"] == "Transactions fetched successfully"
    assert body["data"]["totalCount"] == 1
    (transaction,) = body["data"]["transactions"]
    assert {key: transaction[key] for key in ("entry", "type", "points")} == {
        "entry": "CREDIT",
        "type": "EVENT_OCCURENCE",
        "points": 2,
    }
    assert transaction["id"]
    assert transaction["createdAt"]


async def test_meta_rules_pay_by_priority_with_the_default_last(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    paid = []
    for duration in (10, 20, 25, 5):
        event = {"name": "watched_video", "params": {"duration": duration}}
        answer = await occurrence(gateway, tenant, token, user, event)
        assert answer.status_code == 200, answer.text
        paid.append(answer.json()["data"]["points"])
    assert paid == [100, 200, 500, 50]
    assert await balance(gateway, tenant, token, user) == 850


async def test_a_retried_occurrence_is_answered_once(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    event = {"name": "watched_video", "id": "occ-1", "params": {"duration": 10}}
    first = await occurrence(gateway, tenant, token, user, event)
    again = await occurrence(gateway, tenant, token, user, event)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["data"]["eventId"] == again.json()["data"]["eventId"]
    assert again.json()["data"]["points"] == 100
    assert await balance(gateway, tenant, token, user) == 100


async def test_frequency_cap_and_missing_mandatory_parameters_pay_nothing(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    check_in = {"name": "daily_check_in"}
    first = await occurrence(gateway, tenant, token, user, check_in)
    second = await occurrence(gateway, tenant, token, user, check_in)
    incomplete = await occurrence(gateway, tenant, token, user, {"name": "watched_video"})
    assert first.json()["data"]["points"] == 10
    assert second.json()["data"]["points"] == 0
    assert incomplete.json()["data"]["points"] == 0
    assert await balance(gateway, tenant, token, user) == 10


async def test_an_occurrence_says_why_it_earned_nothing(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    check_in = {"name": "daily_check_in"}
    await occurrence(gateway, tenant, token, user, check_in)
    limited = (await occurrence(gateway, tenant, token, user, check_in)).json()["data"]
    assert (limited["points"], limited["reasonCode"]) == (0, "frequency")
    assert limited["reason"].startswith("rule 'check-in': ")
    incomplete = await occurrence(gateway, tenant, token, user, {"name": "watched_video"})
    assert (incomplete.json()["data"]["reasonCode"], incomplete.json()["data"]["reason"]) == (
        "invalid_parameters",
        "mandatory parameter 'duration' is missing",
    )


async def test_an_occurrence_id_reused_with_other_params_is_refused(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    event = {"name": "watched_video", "id": "occ-reused", "params": {"duration": 10}}
    first = await occurrence(gateway, tenant, token, user, event)
    assert first.status_code == 200
    other = {**event, "params": {"duration": 20}}
    refused = await occurrence(gateway, tenant, token, user, other)
    assert refused.status_code == 409
    assert refused.json()["success"] is False
    assert refused.json()["error"] == "idempotency_conflict"
    assert first.json()["data"]["eventId"] in refused.json()["message"]
    assert await balance(gateway, tenant, token, user) == 100


async def test_calls_without_valid_credentials_are_refused_in_kweggs_envelope(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    path = f"/userauth/user/tenant/balance?userId={user}"
    refused = {
        "no token": await gateway.get(path, headers=headers(tenant)),
        "unknown token": await gateway.get(path, headers=headers(tenant, "kwt_not-a-token")),
        "no license key": await gateway.get(path, headers={"Authorization": token}),
        "other programme's key": await gateway.get(
            path, headers={"License-Key": tenant.other_license_key, "Authorization": token}
        ),
        "unknown license key": await gateway.post(
            "/userauth/user/tenant/login",
            headers={"License-Key": "TESTONE1234", "Platform": "RAW"},
            json={"userId": user},
        ),
    }
    for case, answer in refused.items():
        assert answer.status_code == 401, case
        assert (answer.json()["success"], answer.json()["error"]) == (False, "unauthorized")
    bearer = await gateway.get(path, headers=headers(tenant, f"Bearer {token}"))
    assert bearer.status_code == 200


async def test_a_token_speaks_only_for_its_user_and_allowed_events(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user, other = new_user(), new_user()
    token = await login(gateway, tenant, user)
    answer = await gateway.get(
        f"/userauth/user/tenant/balance?userId={other}", headers=headers(tenant, token)
    )
    assert answer.status_code == 403
    answer = await occurrence(gateway, tenant, token, other, {"name": "product_viewed"})
    assert answer.status_code == 403
    answer = await occurrence(gateway, tenant, token, user, {"name": "not_for_tenants"})
    assert (answer.status_code, answer.json()["error"]) == (403, "forbidden")
    answer = await gateway.post(
        "/core/user/tenant/event/occurence",
        headers=headers(tenant, token),
        json={"userId": user, "event": {"params": {}}},
    )
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


async def test_offers_are_listed_at_both_paths(gateway: httpx.AsyncClient, tenant: Tenant) -> None:
    token = await login(gateway, tenant, new_user())
    seen = []
    for path, auth in (
        ("/userauth/admins/tenant?page=1&numOfItems=2", token),
        ("/core/user/tenant/offers?page=1&numOfItems=100", None),
    ):
        answer = await gateway.get(path, headers=headers(tenant, auth))
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["totalCount"] == 3
        seen.append(data["offers"])
    assert len(seen[0]) == 2
    by_id = {offer["id"]: offer for offer in seen[1]}
    assert (by_id[tenant.offer]["points"], by_id[tenant.offer]["status"]) == (150, "ACTIVE")
    assert by_id[tenant.inactive_offer]["status"] == "INACTIVE"
    answer = await gateway.get(
        "/core/user/tenant/offers", headers=headers(tenant, "kwt_expired-or-unknown")
    )
    assert answer.status_code == 401


async def redeem(
    gateway: httpx.AsyncClient, tenant: Tenant, token: str, offer: str, **body: str
) -> httpx.Response:
    return await gateway.post(
        f"/core/user/tenant/offers/{offer}/redeem", headers=headers(tenant, token), json=body
    )


async def test_redeeming_debits_the_offers_points_once(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    await occurrence(
        gateway, tenant, token, user, {"name": "watched_video", "params": {"duration": 25}}
    )
    answer = await redeem(gateway, tenant, token, tenant.offer, referenceId="order-1")
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert (data["status"], data["points"], data["balance"]) == ("processed", 150, 350)
    again = await redeem(gateway, tenant, token, tenant.offer, referenceId="order-1")
    assert again.status_code == 200, again.text
    assert again.json()["data"]["redemptionId"] == data["redemptionId"]
    assert await balance(gateway, tenant, token, user) == 350
    other_offer = await redeem(gateway, tenant, token, tenant.inactive_offer, referenceId="order-1")
    assert other_offer.status_code == 409

    answer = await gateway.get(
        "/core/user/tenant/transactions?page=2&numOfItems=1", headers=headers(tenant, token)
    )
    body = answer.json()["data"]
    assert body["totalCount"] == 2
    (debit,) = body["transactions"]
    assert (debit["entry"], debit["type"], debit["points"]) == ("DEBIT", "REDEMPTION", 150)


async def test_redemptions_the_balance_cannot_cover_are_refused(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    await occurrence(
        gateway, tenant, token, user, {"name": "watched_video", "params": {"duration": 20}}
    )
    answer = await redeem(gateway, tenant, token, tenant.expensive_offer)
    assert answer.status_code == 402
    assert answer.json()["error"] == "insufficient_points"
    # Two at once, each within the balance, together beyond it: the ledger refuses the second.
    both = await asyncio.gather(
        redeem(gateway, tenant, token, tenant.offer), redeem(gateway, tenant, token, tenant.offer)
    )
    assert sorted(answer.status_code for answer in both) == [200, 402]
    assert await balance(gateway, tenant, token, user) == 50
    assert (await redeem(gateway, tenant, token, tenant.inactive_offer)).status_code == 409
    assert (await redeem(gateway, tenant, token, "no-such-offer")).status_code == 404


async def test_expired_tokens_and_sessions_beyond_the_limit_stop_working(
    gateway: httpx.AsyncClient, tenant: Tenant, system: tuple[LocalSettings, Credentials]
) -> None:
    user = new_user()
    first = await login(gateway, tenant, user)
    later = [await login(gateway, tenant, user) for _ in range(20)]  # 20 live tokens at most
    path = f"/userauth/user/tenant/balance?userId={user}"
    assert (await gateway.get(path, headers=headers(tenant, first))).status_code == 401
    assert (await gateway.get(path, headers=headers(tenant, later[0]))).status_code == 200
    connection = await asyncpg.connect(system[0].database_url(DATABASE))
    try:
        await connection.execute(
            "UPDATE kwegg_access_tokens SET created_at = now() - interval '2 days', "
            "expires_at = now() - interval '1 second' WHERE token_sha256 = $1",
            keys.digest(later[0]),
        )
    finally:
        await connection.close()
    answer = await gateway.get(path, headers=headers(tenant, later[0]))
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"]


async def test_a_redemptions_outcome_is_readable_with_the_license_key(
    gateway: httpx.AsyncClient, tenant: Tenant
) -> None:
    user = new_user()
    token = await login(gateway, tenant, user)
    event = {"name": "watched_video", "params": {"duration": 20}}
    await occurrence(gateway, tenant, token, user, event)
    answer = await redeem(gateway, tenant, token, tenant.offer)
    redemption_id = answer.json()["data"]["redemptionId"]
    outcome = await gateway.get(
        f"/api/partner/events/{redemption_id}", headers={"X-API-Key": tenant.license_key}
    )
    assert outcome.status_code == 200, outcome.text
    assert (outcome.json()["points_awarded"], outcome.json()["balance_after"]) == (-150, 50)
