"""Issue 13, items 1-3, against the running system: racing retries stay quiet, a reused
reference with another payload is a 409 naming the original event, and every answer whose
points are 0 or were cut says why (`reason_code` and `reason`), in the partner API, in Kwegg's
answer and in webhooks."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from gateway.webhooks import subscriptions
from tests.e2e.conftest import DATABASE, Credentials, RunTopics, new_user
from tests.e2e.test_partner_api import EVENTS, key, post_event

pytestmark = pytest.mark.e2e
System = tuple[LocalSettings, Credentials]


async def ledger_conflicts(system: System) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{system[0].ledger_metrics_port}/")).text
    found = re.search(
        r"^loyalty_ledger_idempotency_conflicts_total(?:\{[^}]*\})? (\S+)$", text, re.M
    )
    return 0.0 if found is None else float(found.group(1))


async def dead_letters(kafka_bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            partitions = [TopicPartition(topic, 0)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_twenty_racing_retries_without_occurred_at_book_once_and_raise_no_alarm(
    gateway: httpx.AsyncClient,
    credentials: Credentials,
    system: System,
    kafka_bootstrap: str,
    session_topics: RunTopics,
) -> None:
    dead_topic = session_topics.dead_letters
    conflicts_before = await ledger_conflicts(system)
    dead_before = await dead_letters(kafka_bootstrap, dead_topic)
    user_id = new_user()
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "metadata": {"reference_id": f"retry-{uuid.uuid4().hex}", "amount": 30},
    }
    answers = await asyncio.gather(
        *(post_event(gateway, credentials.partner, body) for _ in range(20))
    )
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["points_awarded"] for answer in answers} == {30}
    transactions = await gateway.get(
        f"/api/partner/users/{user_id}/transactions", headers=key(credentials.partner)
    )
    assert [t["value"] for t in transactions.json()["transactions"]] == [30]
    # The last answer does not mean the duplicates' commands have reached the ledger (a fixed
    # sleep passed vacuously when the writer lagged). One user's records keep their order on
    # every topic, so once a later event of this user is booked and answered, the writer has
    # handled every command before it; it sends dead letters before its commit.
    later = {"user_id": user_id, "event_type": "article_read"}
    answered = await post_event(gateway, credentials.partner, later)
    assert (answered.status_code, answered.json()["status"]) == (200, "processed")
    assert await ledger_conflicts(system) == conflicts_before
    assert await dead_letters(kafka_bootstrap, dead_topic) == dead_before


async def test_a_reference_reused_with_another_payload_is_a_409_naming_the_original(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id, reference = new_user(), f"order-{uuid.uuid4().hex}"
    body = {"user_id": user_id, "event_type": "purchase",
            "metadata": {"reference_id": reference, "amount": 1}}  # fmt: skip
    first = await post_event(gateway, credentials.partner, body)
    assert (first.status_code, first.json()["points_awarded"]) == (200, 1)
    event_id = first.json()["event_id"]
    # The same payload, keys in another order: the original answer.
    same = {"metadata": {"amount": 1, "reference_id": reference}, "event_type": "purchase",
            "user_id": user_id}  # fmt: skip
    again = await post_event(gateway, credentials.partner, same)
    assert (again.status_code, again.json()["event_id"]) == (200, event_id)
    assert again.json()["points_awarded"] == 1
    for changed in (
        {**body, "metadata": {"reference_id": reference, "amount": 99}},
        {**body, "user_id": new_user()},
        {**body, "event_type": "article_read"},
        {**body, "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    ):
        refused = await post_event(gateway, credentials.partner, changed)
        assert refused.status_code == 409, changed
        assert refused.json()["error"] == "idempotency_conflict"
        assert refused.json()["event_id"] == event_id
        assert reference in refused.json()["message"]
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert balance.json()["balance"] == 1


async def test_racing_requests_with_one_reference_and_two_payloads_book_one_and_refuse_one(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id, reference = new_user(), f"order-{uuid.uuid4().hex}"
    bodies = [
        {"user_id": user_id, "event_type": "purchase",
         "metadata": {"reference_id": reference, "amount": amount}}
        for amount in (5, 7)
    ]  # fmt: skip
    answers = await asyncio.gather(*(post_event(gateway, credentials.partner, b) for b in bodies))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    (booked,) = [answer.json() for answer in answers if answer.status_code == 200]
    balance = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers=key(credentials.partner)
    )
    assert balance.json()["balance"] == booked["points_awarded"]


async def test_a_reused_reference_is_a_409_for_api_triggered_rules_too(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    headers = {"X-Client-Id": credentials.client_id, "X-Client-Secret": credentials.client_secret}
    reference = f"trigger-{uuid.uuid4().hex}"
    body = {"user_id": new_user(), "reference_id": reference, "metadata": {"campaign": "a"}}
    first = await gateway.post("/api/rules/bonus-25/trigger", json=body, headers=headers)
    assert first.status_code == 200
    again = await gateway.post("/api/rules/bonus-25/trigger", json=body, headers=headers)
    assert (again.status_code, again.json()["event_id"]) == (200, first.json()["event_id"])
    other = {**body, "metadata": {"campaign": "b"}}
    refused = await gateway.post("/api/rules/bonus-25/trigger", json=other, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["event_id"] == first.json()["event_id"]


def answer_reason(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = response.json()
    return body["points_awarded"], body["reason_code"], body["reason"]


async def test_answers_say_why_an_event_earned_nothing_or_less(
    gateway: httpx.AsyncClient, credentials: Credentials
) -> None:
    user_id = new_user()

    async def post(event_type: str, metadata: Mapping[str, object] | None = None) -> httpx.Response:
        body = {"user_id": user_id, "event_type": event_type, "metadata": dict(metadata or {})}
        response = await post_event(gateway, credentials.partner, body)
        assert response.status_code == 200, response.text
        return response

    assert answer_reason(await post("comment")) == (
        0, "no_rule", "no rule for event type 'comment'",
    )  # fmt: skip
    assert answer_reason(await post("purchase")) == (
        0, "invalid_parameters", "mandatory parameter 'amount' is missing",
    )  # fmt: skip
    shares = [answer_reason(await post("share")) for _ in range(4)]
    assert shares == [
        (4, None, None),
        (4, None, None),
        (2, "daily_cap", "rule 'share': daily cap 10: cut from 4 to 2"),
        (0, "daily_cap", "rule 'share': daily cap 10: cut from 4 to 0"),
    ]
    assert answer_reason(await post("daily_login"))[:2] == (5, None)
    points, code, reason = answer_reason(await post("daily_login"))
    assert (points, code) == (0, "frequency")
    assert reason is not None
    assert reason.startswith("rule 'daily-login': ")
    outcome = await gateway.get(
        f"{EVENTS}/{(await post('comment')).json()['event_id']}", headers=key(credentials.partner)
    )
    assert (outcome.json()["reason_code"], outcome.json()["explanation"]["reason_code"]) == (
        "no_rule",
        "no_rule",
    )


@pytest.fixture
async def pool(system: System) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(system[0].database_url(DATABASE), min_size=1) as pool:
        yield pool


async def test_webhooks_carry_the_reason_of_a_cut_award(
    gateway: httpx.AsyncClient, credentials: Credentials, pool: asyncpg.Pool
) -> None:
    subscription = f"reasons-{uuid.uuid4().hex[:8]}"
    # Delivered to nowhere: the outbox row written with the booking is what this test reads.
    await subscriptions.create(pool, subscription, "e2e", "http://127.0.0.1:9/", ["points.awarded"])
    user_id = new_user()
    for _ in range(3):
        body = {"user_id": user_id, "event_type": "share"}
        assert (await post_event(gateway, credentials.partner, body)).status_code == 200
    payloads = await pool.fetch(
        """SELECT payload FROM webhook_deliveries
           WHERE subscription_id = $1 ORDER BY delivery_id""",
        subscription,
    )
    await pool.execute(
        "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1", subscription
    )
    decoded = [orjson.loads(row["payload"]) for row in payloads]
    reasons = [(body["points"], body["reason_code"], body["reason"]) for body in decoded]
    assert reasons == [
        (4, None, None),
        (4, None, None),
        (2, "daily_cap", "rule 'share': daily cap 10: cut from 4 to 2"),
    ]


async def test_answers_name_a_monthly_cap_and_a_rule_budget_that_cut_the_award(
    gateway: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """e2e-reasons.yaml: a purchase earns 1 a unit, at most 100 a month; a bonus earns 30, at
    most 50 in all (the rule's budget, across users)."""
    key = {
        "X-API-Key": (
            await api_keys.create(pool, "e2e-reasons", "e2e-partner", "production")
        ).secret
    }
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()  # one month for the whole test

    async def post(user_id: str, event_type: str, **metadata: object) -> httpx.Response:
        body = {
            "user_id": user_id,
            "event_type": event_type,
            "occurred_at": at,
            "metadata": metadata,
        }
        response = await gateway.post(EVENTS, json=body, headers=key)
        assert response.status_code == 200, response.text
        return response

    assert answer_reason(await post(new_user(), "purchase", amount=120)) == (
        100, "monthly_cap", "rule 'purchase': monthly cap 100: cut from 120 to 100",
    )  # fmt: skip
    bonuses = [answer_reason(await post(new_user(), "bonus")) for _ in range(3)]
    assert bonuses == [
        (30, None, None),
        (20, "budget", "rule 'bonus': rule budget 50: cut from 30 to 20"),
        (0, "budget", "rule 'bonus': rule budget 50: cut from 30 to 0"),
    ]
