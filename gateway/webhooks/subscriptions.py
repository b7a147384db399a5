"""Subscriptions: which programme's outcomes go to which URL, signed with which secret."""

import secrets
from collections.abc import Sequence
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

EVENT_TYPES = (
    "points.awarded",
    "points.deducted",
    "event.rejected",
    # A user's tier changed (deploy/migrations/0170_tier_changes.sql, docs/tiers.md).
    "tier.changed",
)
"""An outcome's webhooks: what a subscription gets when it names none."""
LIFECYCLE_EVENT_TYPES = ("points.expiring", "points.expired", "points.available", "points.returned")
"""The points lifecycle's webhooks (expiry runs, pending points made available, returns beside
their outcome's points.deducted): only when named."""
KNOWN_EVENT_TYPES = EVENT_TYPES + LIFECYCLE_EVENT_TYPES
# A pool, or one connection (in a transaction of the caller's).
Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy


async def create(
    db: Executor, subscription_id: str, programme_id: str, url: str, types: Sequence[str]
) -> str:
    """Stores the subscription and returns its signing secret (shown once). `db`: a pool, or a
    connection whose transaction also holds the change's audit entry (the console)."""
    unknown = sorted(set(types) - set(KNOWN_EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown webhook event types {unknown}; known: {list(KNOWN_EVENT_TYPES)}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    await db.execute(
        """INSERT INTO webhook_subscriptions (subscription_id, programme_id, url, secret,
                                              event_types)
           VALUES ($1, $2, $3, $4, $5)""",
        subscription_id,
        programme_id,
        url,
        secret,
        list(types or EVENT_TYPES),
    )
    return secret
