"""Subscriptions, outcomes and deliveries on the real Postgres, for the webhooks' tests."""

import uuid

import asyncpg

from gateway.webhooks import subscriptions
from gateway.webhooks.policy import DeliveryPolicy
from tests.integration.ledger.conftest import create_programme

FAST = DeliveryPolicy(attempts_max=3, backoff_first_s=0.01, timeout_s=2.0)


async def subscribe(pool: asyncpg.Pool, url: str, *types: str) -> tuple[str, str]:
    programme_id = await create_programme(pool)
    secret = await subscriptions.create(
        pool, f"wh-{uuid.uuid4().hex[:8]}", programme_id, url, types or subscriptions.EVENT_TYPES
    )
    return programme_id, secret


async def outcome(
    pool: asyncpg.Pool, programme_id: str, points: int, status: str = "booked"
) -> str:
    """An outcome row as the ledger writer inserts it (the trigger does not care who)."""
    command_id = f"evt_{uuid.uuid4().hex[:12]}"
    rejected = status == "rejected"
    await pool.execute(
        """INSERT INTO ledger.command_outcomes
               (command_id, payload_sha256, programme_id, user_id, status, reason_code,
                reason_message, points, balance_after, source_event_id)
           VALUES ($1, $2, $3, 'alice', $4, $5, $6, $7, $8, $1)""",
        command_id,
        b"\0" * 32,
        programme_id,
        status,
        "insufficient_points" if rejected else None,
        "User does not have enough points" if rejected else None,
        points,
        None if rejected else 150,
    )
    return command_id


async def deliveries(pool: asyncpg.Pool, programme_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT d.* FROM webhook_deliveries d JOIN webhook_subscriptions s
           USING (subscription_id) WHERE s.programme_id = $1 ORDER BY delivery_id""",
        programme_id,
    )
