"""What the ledger keeps of the processors' tier changes (deploy/migrations/0170): an outcome
whose explanation carries a `tier_change` records the change with its reason, the user's
current tier and review day, and a `tier.changed` webhook for subscribers, in the same
statement; a change that keeps the tier (a renewal) only moves the review day; a duplicate
outcome records nothing."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import orjson
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(postgres_url, min_size=1, max_size=2) as created:
        yield created


def outcome(
    programme_id: str, user_id: str, offset: int, change: dict[str, Any] | None, status: str
) -> tuple[Any, ...]:
    command_id = f"evt_{uuid.uuid4().hex[:12]}"
    explanation: dict[str, Any] = {"tier": "Bronze", "reason_code": None}
    if change is not None:
        explanation["tier_change"] = change
    return (
        command_id,
        hashlib.sha256(command_id.encode()).digest(),
        programme_id,
        user_id,
        status,
        0,
        orjson.dumps(explanation).decode(),
        offset,
    )


async def insert(pool: asyncpg.Pool, rows: list[tuple[Any, ...]]) -> None:
    # One statement, as the writer inserts a batch's outcomes.
    await pool.execute(
        """INSERT INTO ledger.command_outcomes (command_id, payload_sha256, programme_id,
                                                user_id, status, points, explanation,
                                                source_offset)
           SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[],
                                $6::bigint[], $7::jsonb[], $8::bigint[])""",
        *[list(column) for column in zip(*rows, strict=True)],
    )


async def test_tier_changes_are_recorded_with_their_reason_and_notified(
    pool: asyncpg.Pool,
) -> None:
    programme_id = f"t-{uuid.uuid4().hex[:10]}"
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, config, config_version)
           VALUES ($1, $1, '{}'::jsonb, 1)""",
        programme_id,
    )
    subscription = f"s-{uuid.uuid4().hex[:10]}"
    await pool.execute(
        """INSERT INTO webhook_subscriptions (subscription_id, programme_id, url, secret,
                                              event_types)
           VALUES ($1, $2, 'http://127.0.0.1:9/x', repeat('s', 40), ARRAY['tier.changed'])""",
        subscription,
        programme_id,
    )
    up = {"from": "Bronze", "to": "Silver", "reason": "threshold_crossed",
          "review_on": "2027-01-15"}  # fmt: skip
    renewed = {"from": "Silver", "to": "Silver", "reason": "renewed", "review_on": "2028-01-15"}
    batch = [
        outcome(programme_id, "u1", 10, None, "booked"),
        outcome(programme_id, "u1", 11, up, "booked"),
        outcome(programme_id, "u2", 12, up, "duplicate"),
    ]
    await insert(pool, batch)
    await insert(pool, [outcome(programme_id, "u1", 13, renewed, "booked")])

    changes = await pool.fetch(
        """SELECT user_id, from_tier, to_tier, reason, review_on FROM ledger.tier_changes
           WHERE programme_id = $1""",
        programme_id,
    )
    assert [tuple(row) for row in changes] == [
        ("u1", "Bronze", "Silver", "threshold_crossed", date(2027, 1, 15))
    ]
    current = await pool.fetch(
        "SELECT user_id, tier, reason, review_on FROM ledger.user_tiers WHERE programme_id = $1",
        programme_id,
    )
    # The renewal moved the review day; the reason stays the last change's.
    assert [tuple(row) for row in current] == [
        ("u1", "Silver", "threshold_crossed", date(2028, 1, 15))
    ]
    deliveries = await pool.fetch(
        "SELECT command_id, event_type, payload FROM webhook_deliveries WHERE subscription_id = $1",
        subscription,
    )
    assert len(deliveries) == 1
    assert deliveries[0]["command_id"] == f"tier:{batch[1][0]}"
    payload = orjson.loads(deliveries[0]["payload"])
    assert (payload["from_tier"], payload["tier"], payload["reason"], payload["review_on"]) == (
        "Bronze",
        "Silver",
        "threshold_crossed",
        "2027-01-15",
    )
    await pool.execute(
        "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1", subscription
    )
