"""`points.available`: one webhook per released pending award, queued in the release's own
transaction (a confirming event's batch, or a chunk of the scheduler's release run), only for
programmes subscribed. The delivery's id is the release entry's key (`release:{award_key}`),
unique per subscription, so a release is announced once."""

from collections.abc import Sequence

from ledger.core.batch import PlannedEntry
from ledger.db_types import Connection
from schemas.ledger import Variety

_QUEUE_AVAILABLE = """
    WITH released AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                             $6::text[], $7::timestamptz[])
            AS r(key, programme_id, user_id, points, balance, award_key, released_at)
    ), queued AS (
        INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
        SELECT s.subscription_id, r.key, 'points.available',
               jsonb_build_object(
                   'type', 'points.available', 'programme_id', r.programme_id,
                   'user_id', r.user_id, 'event_id', r.key, 'points', r.points,
                   'balance', r.balance, 'award', r.award_key,
                   'available_at', r.released_at, 'recorded_at', now())
        FROM released AS r
        JOIN webhook_subscriptions AS s
          ON s.programme_id = r.programme_id AND s.active
         AND 'points.available' = ANY (s.event_types)
        ON CONFLICT (subscription_id, command_id) DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM queued
"""


async def queue_available(conn: Connection, entries: Sequence[PlannedEntry]) -> int:
    """Queue the webhooks of the releases among `entries` (none in almost every batch: no
    statement then)."""
    released = [entry for entry in entries if entry.booking.variety is Variety.POINTS_RELEASE]
    if not released:
        return 0
    queued: int = await conn.fetchval(
        _QUEUE_AVAILABLE,
        [entry.booking.idempotency_key for entry in released],
        [entry.credit.programme_id for entry in released],
        [entry.credit.owner_id for entry in released],
        [entry.booking.points for entry in released],
        [entry.credit_balance_after for entry in released],
        [entry.pending_of for entry in released],
        [entry.booking.lineage.occurred_at for entry in released],
    )
    if queued:
        await conn.execute("SELECT pg_notify('webhook_deliveries', '')")
    return queued
