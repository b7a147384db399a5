"""Previews ("what will I earn?") against the running system: a preview equals the points a
publish right after it earns, caps and frequency limits included, and stores nothing."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Credentials, new_user

pytestmark = pytest.mark.e2e
EVENTS = "/api/partner/events"
PREVIEW = "/api/partner/events/preview"
PREVIEW_RATE = 20
"""LOYALTY_PREVIEW_RATE_LIMIT_PER_MINUTE of the e2e system (tests/e2e/conftest.py)."""


def key(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}


async def preview_then_publish(
    gateway: httpx.AsyncClient, api_key: str, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    previewed = await gateway.post(PREVIEW, json=body, headers=key(api_key))
    assert previewed.status_code == 200, previewed.text
    published = await gateway.post(EVENTS, json=body, headers=key(api_key))
    assert published.status_code == 200, published.text
    return previewed.json(), published.json()


async def test_a_preview_earns_what_a_publish_right_after_it_earns(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    """share: 4 points, at most 10 a day, so the third share of the day is cut to 2 and the
    fourth to 0; daily_login pays once a day. One instant for all, so one day."""
    user_id = new_user()
    at = datetime.now(UTC).isoformat()
    seen = []
    for event_type in ["share"] * 4 + ["daily_login"] * 2:
        body = {"user_id": user_id, "event_type": event_type, "occurred_at": at}
        previewed, published = await preview_then_publish(
            gateway, credentials.preview_partner, body
        )
        assert previewed["points"] == published["points_awarded"], (previewed, published)
        assert previewed["reason_code"] == published["reason_code"]
        assert (previewed["preview"], previewed["stored"]) == (True, False)
        seen.append((previewed["points"], previewed["reason_code"]))
    assert seen == [
        (4, None), (4, None), (2, "daily_cap"), (0, "daily_cap"), (5, None), (0, "frequency"),
    ]  # fmt: skip
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.preview_partner)
    )
    assert balance.json()["balance"] == 15


async def test_a_preview_stores_nothing_and_explains_each_rule(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {"reference_id": f"order-{user_id}", "amount": 150},
    }
    answers = [
        (await gateway.post(PREVIEW, json=body, headers=key(credentials.preview_partner))).json()
        for _ in range(3)
    ]
    assert {answer["points"] for answer in answers} == {150}
    first = answers[0]
    assert first["status"] == "awarded"
    assert [rule["rule_id"] for rule in first["explanation"]["rules"]] == ["purchase"]
    assert "nothing was stored" in first["message"]
    headers = key(credentials.preview_partner)
    unknown = await gateway.get(f"/api/partner/users/{user_id}/balance", headers=headers)
    assert unknown.status_code == 404  # no account: nothing was booked
    outcome = await gateway.get(f"{EVENTS}/{first['event_id']}", headers=headers)
    assert outcome.status_code == 404
    published = await gateway.post(EVENTS, json=body, headers=headers)
    assert published.json()["event_id"] == first["event_id"]
    again = await gateway.post(PREVIEW, json=body, headers=headers)
    assert (again.json()["status"], again.json()["points"]) == ("duplicate", 150)


async def test_preview_errors_are_publishings(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user = new_user()
    unkeyed = await gateway.post(PREVIEW, json={"user_id": user, "event_type": "share"})
    assert (unkeyed.status_code, unkeyed.json()["error"]) == (401, "unauthorized")
    headers = key(credentials.preview_partner)
    refused = await gateway.post(PREVIEW, json={"user_id": user, "event_type": "signup"},
                                 headers=headers)  # fmt: skip
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    malformed = await gateway.post(PREVIEW, json={"user_id": user}, headers=headers)
    assert (malformed.status_code, malformed.json()["error"]) == (400, "invalid_request")
    dated = {"user_id": user, "event_type": "share", "occurred_at": "2020-01-01T00:00:00Z"}
    too_old = await gateway.post(PREVIEW, json=dated, headers=headers)
    assert too_old.status_code == 400
    assert "event_time.past_max_s" in too_old.json()["message"]


async def test_previews_have_their_own_rate_limit(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    """slow-partner may publish 2 events a minute; its previews count apart, up to the
    gateway's preview limit."""
    body = {"user_id": new_user(), "event_type": "article_read"}
    headers = key(credentials.slow_partner)
    statuses = [
        (await gateway.post(PREVIEW, json=body, headers=headers)) for _ in range(PREVIEW_RATE + 1)
    ]
    assert [s.status_code for s in statuses] == [200] * PREVIEW_RATE + [429]
    limited = statuses[-1]
    assert limited.json()["error"] == "rate_limit_exceeded"
    assert "previews a minute" in limited.json()["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
