"""Subscriptions: which programme's outcomes go to which URL, signed with which secret."""

import secrets
from collections.abc import Sequence

import asyncpg

EVENT_TYPES = ("points.awarded", "points.deducted", "event.rejected")


async def create(
    pool: asyncpg.Pool, subscription_id: str, programme_id: str, url: str, types: Sequence[str]
) -> str:
    """Stores the subscription and returns its signing secret (shown once)."""
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown webhook event types {unknown}; known: {list(EVENT_TYPES)}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    await pool.execute(
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
