"""The mgPass partner contract and the API-triggered rules of seed 001, against the running
system: every error status, idempotency under races, scoped reads, staging isolation."""

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import httpx
import pytest

from deploy.local.settings import LocalSettings
from tests.e2e.conftest import DATABASE, Credentials, new_user

pytestmark = pytest.mark.e2e
EVENTS = "/api/partner/events"


def key(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}


async def post_event(
    gateway: httpx.AsyncClient, api_key: str, body: Mapping[str, object]
) -> httpx.Response:
    return await gateway.post(EVENTS, json=body, headers=key(api_key))


async def test_an_event_without_a_matching_rule_is_accepted_with_0_points(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    response = await post_event(
        gateway, credentials.partner, {"user_id": new_user(), "event_type": "comment"}
    )
    assert response.status_code == 200
    assert response.json()["accepted"] is True
    assert response.json()["points_awarded"] == 0


async def test_racing_duplicates_get_one_event_id_and_one_award(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {"reference_id": f"race-{uuid.uuid4().hex}", "amount": 40},
    }
    answers = await asyncio.gather(
        *(post_event(gateway, credentials.partner, body) for _ in range(8))
    )
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["event_id"] for answer in answers}) == 1
    assert {answer.json()["points_awarded"] for answer in answers} == {40}
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert balance.json() == {
        "user_id": user_id, "balance": 40, "available": 40, "expiring": [],
        "pending": {"points": 0, "awards": []},
    }  # fmt: skip


async def test_an_event_type_outside_the_allowed_list_is_forbidden(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    response = await post_event(
        gateway, credentials.partner, {"user_id": new_user(), "event_type": "signup"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_past_the_partner_rate_the_answer_is_429_with_retry_after(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    body = {"user_id": new_user(), "event_type": "article_read"}
    statuses = [(await post_event(gateway, credentials.slow_partner, body)) for _ in range(3)]
    assert [response.status_code for response in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"] == "rate_limit_exceeded"
    assert 1 <= int(statuses[2].headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    "content",
    [
        b'{"event_type": "article_read"}',
        b'{"user_id": "usr_abc123"}',
        b'{"user_id": "", "event_type": "article_read"}',
        b'{"user_id": "usr_abc123", "event_type": "article_read"',
        b'{"user_id": 5, "event_type": "article_read"}',
        b'{"user_id": "usr_abc123", "event_type": "article_read", "metadata": []}',
        b"[]",
    ],
)
async def test_a_malformed_body_is_an_invalid_request(
    gateway: httpx.AsyncClient, credentials: Credentials, content: bytes
) -> None:
    headers = key(credentials.partner) | {"Content-Type": "application/json"}
    response = await gateway.post(EVENTS, content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("occurred_at", "bound"),
    [
        ("2020-01-01T00:00:00Z", "is more than 7 days (604800 s) before now (the programme's "
         "event_time.past_max_s)"),
        ("2030-01-01T00:00:00+02:00", "is more than 5 minutes (300 s) after now (the programme's "
         "event_time.future_max_s)"),
    ],
)  # fmt: skip
async def test_an_occurred_at_outside_the_time_policy_is_refused_naming_the_bound(
    gateway: httpx.AsyncClient, credentials: Credentials, occurred_at: str, bound: str
) -> None:
    user_id = new_user()
    body = {"user_id": user_id, "event_type": "article_read", "occurred_at": occurred_at}
    response = await post_event(gateway, credentials.partner, body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error"] == "invalid_request"
    message = answer["message"]
    assert message.startswith("occurred_at: "), message
    assert bound in message
    earliest, latest = message.split("this programme accepts events dated from ")[1].split(" to ")
    span = datetime.fromisoformat(latest) - datetime.fromisoformat(earliest)
    assert span == timedelta(days=7, minutes=5)
    assert abs(datetime.fromisoformat(latest) - datetime.now(UTC)) < timedelta(minutes=6)
    # Had the refused event been published, it would be booked before this one (same partition).
    live = await post_event(gateway, credentials.partner, body | {"occurred_at": None})
    assert live.json()["points_awarded"] == 5
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert balance.json()["balance"] == 5, "the refused event was not published"


async def test_an_occurred_at_within_the_time_policy_is_accepted_and_booked_at_that_time(
    gateway: httpx.AsyncClient, credentials: Credentials, system: tuple[LocalSettings, Credentials]
) -> None:
    user_id = new_user()
    week_ago = datetime.now(UTC) - timedelta(days=6, hours=23)
    soon = datetime.now(UTC).astimezone(timezone(timedelta(hours=-5))) + timedelta(minutes=4)
    for at in (week_ago, soon):
        body = {"user_id": user_id, "event_type": "article_read", "occurred_at": at.isoformat()}
        response = await post_event(gateway, credentials.partner, body)
        assert response.status_code == 200, response.text
        assert response.json()["points_awarded"] == 5
    connection = await asyncpg.connect(system[0].database_url(DATABASE))
    try:
        booked = await connection.fetch(
            "SELECT occurred_at FROM ledger.entries WHERE user_id = $1 ORDER BY entry_id", user_id
        )
    finally:
        await connection.close()
    assert [row["occurred_at"] for row in booked] == [week_ago, soon]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "lk_live_unknown_key"}, {"X-API-Key": "x"}])
async def test_a_missing_or_unknown_key_is_unauthorized(
    gateway: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"user_id": "usr_abc123", "event_type": "article_read"}
    response = await gateway.post(EVENTS, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_an_outcome_is_readable_with_its_explanation_only_by_its_programme(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    body = {"user_id": new_user(), "event_type": "article_read"}
    event_id = (await post_event(gateway, credentials.partner, body)).json()["event_id"]
    found = await gateway.get(f"{EVENTS}/{event_id}", headers=key(credentials.partner))
    assert found.status_code == 200
    assert found.json()["points_awarded"] == 5
    assert found.json()["explanation"]
    elsewhere = await gateway.get(f"{EVENTS}/{event_id}", headers=key(credentials.demo))
    assert elsewhere.status_code == 404
    unknown = await gateway.get(f"{EVENTS}/evt_unknown", headers=key(credentials.partner))
    assert unknown.status_code == 404


async def test_transactions_are_oldest_first_with_running_balance_and_paginated(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()
    for amount in (10, 20, 30):
        body = {"user_id": user_id, "event_type": "purchase", "metadata": {"amount": amount}}
        assert (await post_event(gateway, credentials.partner, body)).status_code == 200
    url = f"/api/partner/users/{user_id}/transactions"
    page = await gateway.get(
        url, params={"page": 2, "numOfItems": 2}, headers=key(credentials.partner)
    )
    assert page.status_code == 200
    assert page.json()["totalCount"] == 3
    assert [(t["value"], t["balance"]) for t in page.json()["transactions"]] == [(30, 60)]
    everything = await gateway.get(url, headers=key(credentials.partner))
    assert [t["balance"] for t in everything.json()["transactions"]] == [10, 30, 60]
    last = await gateway.get(f"{url}/last", headers=key(credentials.partner))
    assert (last.json()["value"], last.json()["balance"]) == (30, 60)


async def test_other_programmes_users_are_invisible(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()
    await post_event(
        gateway, credentials.partner, {"user_id": user_id, "event_type": "article_read"}
    )
    for path in ("balance", "transactions", "transactions/last"):
        response = await gateway.get(
            f"/api/partner/users/{user_id}/{path}", headers=key(credentials.demo)
        )
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


async def test_a_staging_key_reaches_only_its_staging_programme(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    assert credentials.staging.startswith("lk_test_")
    user_id = new_user()
    staged = await post_event(
        gateway, credentials.staging, {"user_id": user_id, "event_type": "article_read"}
    )
    assert staged.json()["points_awarded"] == 7
    production = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert production.status_code == 404
    produced = new_user()
    await post_event(
        gateway, credentials.partner, {"user_id": produced, "event_type": "article_read"}
    )
    staging = await gateway.get(
        f"/api/partner/users/{produced}/balance", headers=key(credentials.staging)
    )
    assert staging.status_code == 404


def client_headers(client_id: str, secret: str) -> dict[str, str]:
    return {"X-Client-Id": client_id, "X-Client-Secret": secret}


async def trigger(
    gateway: httpx.AsyncClient, rule_id: str, headers: dict[str, str], user_id: str
) -> httpx.Response:
    return await gateway.post(
        f"/api/rules/{rule_id}/trigger", json={"user_id": user_id}, headers=headers
    )


async def test_an_authorised_client_earns_and_redeems_by_rule_id(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id, client = new_user(), client_headers(credentials.client_id, credentials.client_secret)
    earned = await trigger(gateway, "bonus-25", client, user_id)
    assert (earned.status_code, earned.json()["points_awarded"]) == (200, 25)
    redeemed = await trigger(gateway, "redeem-10", client, user_id)
    assert (redeemed.status_code, redeemed.json()["points_awarded"]) == (200, -10)
    await trigger(gateway, "redeem-10", client, user_id)
    short = await trigger(gateway, "redeem-10", client, user_id)
    assert short.status_code == 402
    assert short.json()["error"] == "insufficient_points"
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert balance.json()["balance"] == 5


@pytest.mark.parametrize(
    ("rule_id", "who", "status"),
    [
        ("bonus-25", "other", 403),
        ("bonus-25", "wrong-secret", 401),
        ("expired-bonus", "client", 409),
        ("no-such-rule", "client", 404),
        ("article-read", "client", 404),
    ],
)
async def test_a_rule_triggers_only_for_its_clients_while_valid(
    gateway: httpx.AsyncClient, credentials: Credentials, rule_id: str, who: str, status: int
) -> None:
    headers = {
        "client": client_headers(credentials.client_id, credentials.client_secret),
        "other": client_headers(credentials.other_client_id, credentials.other_client_secret),
        "wrong-secret": client_headers(credentials.client_id, "not-the-secret"),
    }[who]
    response = await trigger(gateway, rule_id, headers, new_user())
    assert response.status_code == status, response.text
    assert response.json()["error"]


async def test_the_openapi_document_carries_the_seed_examples(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    request = document["components"]["schemas"]["PartnerEventRequest"]
    assert {"user_id": "usr_abc123", "event_type": "article_read"} in request["examples"]
    responses = document["paths"]["/api/partner/events"]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "429"} <= set(responses)
