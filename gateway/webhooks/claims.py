"""Leases on due deliveries (deploy/migrations/0100_webhook_leases.sql): every statement here is
short and commits at once, so no transaction stays open while a delivery is being posted.

A claim stamps up to `batch_max` due, unclaimed rows with `claimed_until` (now + lease) and
`claimed_by`; SKIP LOCKED keeps concurrent claims apart, and a row another dispatcher claimed
no longer matches once that claim commits. Results and releases are guarded by the claim (holder
and lease end both), so a dispatcher whose lease ran out and was taken over records nothing."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.webhooks.policy import Attempt, Next

_CLAIM = """
    WITH due AS MATERIALIZED (
        SELECT d.delivery_id
        FROM webhook_deliveries AS d JOIN webhook_subscriptions AS s USING (subscription_id)
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND s.active
          AND (d.claimed_until IS NULL OR d.claimed_until < now())
        ORDER BY d.next_attempt_at
        LIMIT $1
        FOR UPDATE OF d SKIP LOCKED)
    UPDATE webhook_deliveries AS d
    SET claimed_until = now() + make_interval(secs => $2), claimed_by = $3
    FROM due, webhook_subscriptions AS s
    WHERE d.delivery_id = due.delivery_id AND s.subscription_id = d.subscription_id
    RETURNING d.delivery_id, d.event_type, d.payload::text AS payload, d.attempts, s.url,
              s.secret, d.claimed_until"""

_RECORD = """
    UPDATE webhook_deliveries
    SET status = $4, attempts = attempts + 1, next_attempt_at = coalesce($5, next_attempt_at),
        last_http_status = $6, last_error = $7,
        finished_at = CASE WHEN $4 = 'pending' THEN NULL ELSE now() END,
        claimed_until = NULL, claimed_by = NULL
    WHERE delivery_id = $1 AND claimed_by = $2 AND claimed_until = $3"""

_RELEASE = """
    UPDATE webhook_deliveries SET claimed_until = NULL, claimed_by = NULL
    WHERE delivery_id = ANY($1::bigint[]) AND claimed_by = $2 AND claimed_until = $3"""


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: int
    event_type: str
    payload: str  # the outbox's JSON, as text
    attempts: int  # made before this claim
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Claim:
    """Deliveries one statement claimed: they share its holder and its lease's end."""

    claimant: str
    until: datetime | None  # None when nothing was due
    deliveries: tuple[Delivery, ...]


async def claim(pool: asyncpg.Pool, batch_max: int, lease_s: float, claimant: str) -> Claim:
    rows = await pool.fetch(_CLAIM, batch_max, lease_s, claimant)
    deliveries = tuple(
        Delivery(
            row["delivery_id"],
            row["event_type"],
            row["payload"],
            row["attempts"],
            row["url"],
            row["secret"],
        )
        for row in rows
    )
    return Claim(claimant, rows[0]["claimed_until"] if rows else None, deliveries)


async def record(
    pool: asyncpg.Pool, claim: Claim, delivery: Delivery, attempt: Attempt, next_: Next
) -> bool:
    """Stores an attempt's result and ends the lease. False when the claim was no longer held
    (its lease ran out and another dispatcher took the row): that one's result counts."""
    status = await pool.execute(
        _RECORD,
        delivery.delivery_id,
        claim.claimant,
        claim.until,
        next_.status,
        next_.retry_at,
        attempt.http_status,
        attempt.error,
    )
    return bool(status == "UPDATE 1")


async def release(pool: asyncpg.Pool, claim: Claim, delivery_ids: list[int]) -> int:
    """Gives rows back unattempted (a dispatcher stopped mid-send): due again at once."""
    status = await pool.execute(_RELEASE, delivery_ids, claim.claimant, claim.until)
    return int(status.split()[-1])
