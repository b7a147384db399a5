"""Points expire at the programme's local midnight on the real services, driven by the
scheduler's day and the events' time, never by sleeping: earned points are lots dated by the
programme's policy; `loyalty-scheduler emit` sends the days up to one (as its rounds do at each
midnight); the ledger writer expires the lots due by then, each once. The same day sent again,
by the scheduler or as a replayed record, expires nothing more."""

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from schemas.ledger import LifecycleAction, LifecycleCommand, Variety
from schemas.topics import programme_key
from tests.e2e.conftest import Credentials, RunTopics, entries_of, new_user, scheduler_emit

pytestmark = pytest.mark.e2e
PROGRAMME = "e2e-expiry"
ZONE = ZoneInfo("Pacific/Auckland")


@pytest.fixture
async def key(pool: asyncpg.Pool) -> str:
    issued = await api_keys.create(pool, PROGRAMME, "e2e-partner", "production")
    return issued.secret


async def earn(
    gateway: httpx.AsyncClient, key: str, user_id: str, amount: int, occurred_at: datetime
) -> None:
    body = {
        "user_id": user_id,
        "event_type": "purchase",
        "occurred_at": occurred_at.isoformat(),
        "metadata": {"reference_id": f"order-{uuid.uuid4().hex[:10]}", "amount": amount},
    }
    response = await gateway.post("/api/partner/events", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    assert response.json()["points_awarded"] == amount


async def balance(gateway: httpx.AsyncClient, key: str, user_id: str) -> int:
    response = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    points: int = response.json()["balance"]
    return points


async def shows_what_expires(
    gateway: httpx.AsyncClient, key: str, user_id: str, lots: list[tuple[date, int]]
) -> None:
    """The partner (mgPass) and Kwegg balances list the lots that expire, with the instant of
    the programme's midnight each expires at."""
    response = await gateway.get(
        f"/api/partner/users/{user_id}/balance", headers={"X-API-Key": key}
    )
    assert response.status_code == 200, response.text
    partner = response.json()
    assert partner["available"] == sum(points for _, points in lots)
    expected = [
        (str(day), datetime(day.year, day.month, day.day, tzinfo=ZONE), points)
        for day, points in lots
    ]
    shown = [
        (e["expires_on"], datetime.fromisoformat(e["expires_at"]), e["points"])
        for e in partner["expiring"]
    ]
    assert shown == expected
    tenant = {"License-Key": key, "Platform": "RAW"}
    login = await gateway.post(
        "/userauth/user/tenant/login", headers=tenant, json={"userId": user_id}
    )
    assert login.status_code == 200, login.text
    token = login.json()["data"]["accessToken"]
    kwegg = await gateway.get(
        "/userauth/user/tenant/balance", headers=tenant | {"Authorization": token}
    )
    assert kwegg.status_code == 200, kwegg.text
    data = kwegg.json()["data"]
    assert data["balance"] == sum(points for _, points in lots)
    assert [
        (e["date"], datetime.fromisoformat(e["expiresAt"]), e["points"]) for e in data["expiring"]
    ] == expected


async def the_scheduler_sent(pool: asyncpg.Pool, today: date) -> None:
    """The running loyalty-scheduler has sent the programme's local today on its own, and the
    ledger writer has run it (nothing was due)."""
    deadline = time.monotonic() + 30.0
    last_day: date | None = None
    while time.monotonic() < deadline:
        last_day = await pool.fetchval(
            "SELECT last_day FROM scheduler_days WHERE programme_id = $1", PROGRAMME
        )
        if last_day is not None and last_day >= today:
            break
        await asyncio.sleep(0.2)
    assert last_day is not None, "the scheduler has not sent the programme's days"
    assert last_day >= today
    await finished(pool, f"expire:{PROGRAMME}:{today}")


async def finished(pool: asyncpg.Pool, command_id: str, deadline_s: float = 30.0) -> None:
    """Until the ledger writer has finished the lifecycle command's run."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        done = await pool.fetchval(
            "SELECT finished_at FROM ledger.lifecycle_runs WHERE command_id = $1", command_id
        )
        if done is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{command_id} not run within {deadline_s} s")


async def consumed(pool: asyncpg.Pool, topics: RunTopics, partition: int, offset: int) -> None:
    """Until the ledger writer has stored its offset past the record at `offset`."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        stored = await pool.fetchval(
            """SELECT max(next_offset) FROM ledger.consumer_offsets
               WHERE consumer_group = $1 AND topic = $2 AND partition = $3""",
            f"ledger-writer-e2e-{topics.run}",
            topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"],
            partition,
        )
        if stored is not None and stored > offset:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the writer did not pass offset {offset} of partition {partition}")


async def replay(
    system: tuple[LocalSettings, Credentials], topics: RunTopics, day: date
) -> tuple[int, int]:
    """The day's expiry command sent again as a record of its own (a replay, a second
    scheduler), then waited for until the writer is past it."""
    command = LifecycleCommand(
        command_id=f"expire:{PROGRAMME}:{day}",
        programme_id=PROGRAMME,
        action=LifecycleAction.EXPIRE_POINTS,
        local_day=day,
        effective_at=datetime(day.year, day.month, day.day, tzinfo=ZONE),
    )
    producer = AIOKafkaProducer(bootstrap_servers=system[0].kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"],
            value=command.model_dump_json().encode(),
            key=programme_key(PROGRAMME),
        )
    finally:
        await producer.stop()
    return sent.partition, sent.offset


async def test_points_expire_at_the_programmes_midnight_once(
    system: tuple[LocalSettings, Credentials],
    session_topics: RunTopics,
    gateway: httpx.AsyncClient,
    key: str,
    pool: asyncpg.Pool,
) -> None:
    user_id = new_user()
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    await the_scheduler_sent(pool, today)
    # Earned two local days ago: expires at the midnight that begins today + 1; earned now:
    # at the one that begins today + 3 (days_after_earning, 3 days).
    await earn(gateway, key, user_id, 30, now - timedelta(days=2))
    await earn(gateway, key, user_id, 50, now)
    assert await balance(gateway, key, user_id) == 80
    first_due, second_due = today + timedelta(days=1), today + timedelta(days=3)
    await shows_what_expires(gateway, key, user_id, [(first_due, 30), (second_due, 50)])

    sent = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, first_due)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip().endswith(str(first_due)), sent.stdout
    await finished(pool, f"expire:{PROGRAMME}:{first_due}")
    assert await balance(gateway, key, user_id) == 50
    assert await entries_of(pool, PROGRAMME, user_id, Variety.POINTS_EXPIRY) == [
        (f"expire:{PROGRAMME}:{first_due}", 30)
    ]

    again = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, first_due)
    assert (again.returncode, again.stdout) == (0, "nothing to send: already sent\n")
    partition, offset = await replay(system, session_topics, first_due)
    await consumed(pool, session_topics, partition, offset)
    assert await balance(gateway, key, user_id) == 50
    assert await entries_of(pool, PROGRAMME, user_id, Variety.POINTS_EXPIRY) == [
        (f"expire:{PROGRAMME}:{first_due}", 30)
    ]

    await shows_what_expires(gateway, key, user_id, [(second_due, 50)])
    # The day before the second lot is due: nothing of it goes; the day it is due: all of it.
    sent = await asyncio.to_thread(scheduler_emit, system, session_topics, PROGRAMME, second_due)
    assert sent.returncode == 0, sent.stderr
    await finished(pool, f"expire:{PROGRAMME}:{second_due - timedelta(days=1)}")
    await finished(pool, f"expire:{PROGRAMME}:{second_due}")
    assert await balance(gateway, key, user_id) == 0
    assert await entries_of(pool, PROGRAMME, user_id, Variety.POINTS_EXPIRY) == [
        (f"expire:{PROGRAMME}:{first_due}", 30),
        (f"expire:{PROGRAMME}:{second_due}", 50),
    ]
    transactions = await gateway.get(
        f"/api/partner/users/{user_id}/transactions", headers={"X-API-Key": key}
    )
    assert transactions.status_code == 200, transactions.text
    shown = [
        (item["variety"], item["value"], item["balance"])
        for item in transactions.json()["transactions"]
    ]
    assert shown == [
        ("Programme Points", 30, 30),
        ("Programme Points", 50, 80),
        ("Points Expiry", -30, 50),
        ("Points Expiry", -50, 0),
    ]
