"""Subscriptions: which programme's outcomes go to which URL, signed with which secret."""

import secrets
from collections.abc import Sequence
from typing import Literal, TypeAlias, get_args

import asyncpg
from asyncpg.pool import PoolConnectionProxy

EventType = Literal[
    # An outcome's: each booked or rejected event.
    "points.awarded",
    "points.deducted",
    "event.rejected",
    # A user's tier changed (deploy/migrations/0170_tier_changes.sql, docs/tiers.md).
    "tier.changed",
    # The points lifecycle's: expiry runs (0120), pending points made available (0150), returns
    # beside their outcome's points.deducted (0161).
    "points.expiring",
    "points.expired",
    "points.available",
    "points.returned",
]
"""Every webhook type the system sends: the one list the CLI, the admin API and the console
offer, and that the database's webhook_subscriptions_event_types_check must equal (a test
compares them)."""
KNOWN_EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
EVENT_TYPES: tuple[EventType, ...] = (
    "points.awarded",
    "points.deducted",
    "event.rejected",
    "tier.changed",
)
"""What a subscription gets when it names none: every outcome's webhook and tier changes."""
LIFECYCLE_EVENT_TYPES: tuple[EventType, ...] = tuple(
    name for name in KNOWN_EVENT_TYPES if name not in EVENT_TYPES
)
"""The points lifecycle's webhooks: sent only to subscriptions that name them (a programme
without expiry or pending points never sends them; one with them would flood a receiver that
expects outcomes only)."""
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
