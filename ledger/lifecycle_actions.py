"""What differs between the lifecycle commands' actions; `ledger.lifecycle` runs each alike
(due accounts a bounded chunk at a time, locked, planned, written, counted).

An expiry (`expire_points`) moves the due lots of users to the programme's expired account
(`ledger.core.expiring`), announces each user's as `points.expired`, and the run's last
transaction queues the `points.expiring` notices. A release (`release_points`) moves the due
pending lots from the programme's pending account to the users (`ledger.core.releasing`) and
announces each as `points.available`; it has no notices.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NamedTuple

from ledger.available import queue_available
from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import PlannedEntry
from ledger.core.expiring import DueAccount, IncomingLifecycle, plan_expiry
from ledger.core.lots import Lots, encode
from ledger.core.pending import Pending
from ledger.core.releasing import Holder, plan_release
from ledger.db_types import Connection
from ledger.loading import LockedAccounts
from schemas.ledger import LifecycleAction, LifecycleCommand, day_start


class ChunkPlan(NamedTuple):
    """A chunk planned (pure), whichever the action: what it writes and what the run counts."""

    entries: list[PlannedEntry]
    balances: dict[AccountKey, int]
    """The final balance of every account the chunk changes (the programme's account too)."""
    lots: dict[AccountKey, Lots]
    """The final lots of the accounts of `balances` that store any."""
    pending: dict[AccountKey, Pending | None] | None
    """The final pending lots of the user accounts of `balances`; None: they keep theirs."""
    accounts: int
    lots_moved: int
    points_moved: int


Planner = Callable[
    [LifecycleCommand, LockedAccounts, list[AccountKey], AccountKey, ProgrammePolicy], ChunkPlan
]
"""(command, the locked accounts, the due users' keys, the programme's account, its policy)."""


class Action(NamedTuple):
    programme_account: AccountKind
    """The programme's account the chunk moves the points to (or from)."""
    due_accounts: str
    """(account id, user id) of a programme's ($1) first accounts due by a day ($2), at most
    $3, in the order of their partial index."""
    plan: Planner
    queue_webhooks: Callable[[Connection, IncomingLifecycle, list[PlannedEntry]], Awaitable[None]]
    """Of a chunk's entries, in its transaction."""
    queue_notices: Callable[[Connection, IncomingLifecycle, ProgrammePolicy], Awaitable[int]]
    """In the run's last transaction, once nothing is due; how many were queued."""


def action_of(command: LifecycleCommand) -> Action:
    return RELEASING if command.action is LifecycleAction.RELEASE_POINTS else EXPIRING


def _plan_expiry(
    command: LifecycleCommand,
    locked: LockedAccounts,
    users: list[AccountKey],
    expired_key: AccountKey,
    policy: ProgrammePolicy,
) -> ChunkPlan:
    due = [DueAccount(key, locked.balances[key], locked.lots.get(key)) for key in users]
    chunk = plan_expiry(command, due, expired_key, locked.balances[expired_key])
    return ChunkPlan(chunk.entries, chunk.balances, chunk.lots, None, len(chunk.entries),
                     chunk.lots_expired, chunk.points_expired)  # fmt: skip


def _plan_release(
    command: LifecycleCommand,
    locked: LockedAccounts,
    users: list[AccountKey],
    pending_key: AccountKey,
    policy: ProgrammePolicy,
) -> ChunkPlan:
    holders = [
        Holder(key, locked.balances[key], locked.lots.get(key), locked.pending.get(key))
        for key in users
    ]
    chunk = plan_release(command, holders, pending_key, locked.balances[pending_key], policy.expiry)
    return ChunkPlan(chunk.entries, chunk.balances, chunk.lots, chunk.pending, len(chunk.pending),
                     chunk.lots_released, chunk.points_released)  # fmt: skip


async def _subscribed(conn: Connection, programme_id: str, event_type: str) -> bool:
    found: bool = await conn.fetchval(
        """SELECT EXISTS (SELECT FROM webhook_subscriptions
                          WHERE programme_id = $1 AND active AND $2 = ANY (event_types))""",
        programme_id,
        event_type,
    )
    return found


# The webhooks of an expiry, queued in the run's own transactions (the outbox trigger reads the
# commands' outcomes, one per run; these are one per user). Only for programmes subscribed.
_QUEUE_EXPIRED = """
    WITH expired AS (
        SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::jsonb[])
            AS e(key, user_id, points, balance, lots)
    ), queued AS (
        INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
        SELECT s.subscription_id, e.key, 'points.expired',
               jsonb_build_object(
                   'type', 'points.expired', 'programme_id', $1::text, 'user_id', e.user_id,
                   'event_id', e.key, 'points', e.points, 'balance', e.balance,
                   'lots', e.lots, 'expired_at', $7::timestamptz, 'recorded_at', now())
        FROM expired AS e
        JOIN webhook_subscriptions AS s
          ON s.programme_id = $1 AND s.active AND 'points.expired' = ANY (s.event_types)
        ON CONFLICT (subscription_id, command_id) DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM queued
"""


async def _queue_expired(
    conn: Connection, incoming: IncomingLifecycle, entries: list[PlannedEntry]
) -> None:
    command = incoming.command
    if not entries or not await _subscribed(conn, command.programme_id, "points.expired"):
        return
    queued = await conn.fetchval(
        _QUEUE_EXPIRED,
        command.programme_id,
        [entry.booking.idempotency_key for entry in entries],
        [entry.debit.owner_id for entry in entries],
        [entry.booking.points for entry in entries],
        [entry.debit_balance_after for entry in entries],
        [encode(entry.debit_lots) or "[]" for entry in entries],
        command.effective_at,
    )
    if queued:
        await conn.execute("SELECT pg_notify('webhook_deliveries', '')")


# points.expiring: every user with a lot dated `notice_days` after the run's day, as it stands
# once the day's lots have expired. One statement over the index of due accounts.
_QUEUE_EXPIRING = """
    WITH queued AS (
        INSERT INTO webhook_deliveries (subscription_id, command_id, event_type, payload)
        SELECT s.subscription_id, 'expiring:' || $1 || ':' || $2::date || ':' || a.owner_id,
               'points.expiring',
               jsonb_build_object(
                   'type', 'points.expiring', 'programme_id', $1::text,
                   'user_id', a.owner_id, 'points', (lot ->> 1)::bigint,
                   'expires_at', $3::timestamptz, 'balance', a.balance, 'recorded_at', now())
        FROM ledger.accounts AS a
        CROSS JOIN LATERAL json_array_elements(a.lots) AS lot
        JOIN webhook_subscriptions AS s
          ON s.programme_id = $1 AND s.active AND 'points.expiring' = ANY (s.event_types)
        WHERE a.programme_id = $1 AND a.lots_next_due <= $2::date
          AND lot ->> 0 = $2::date::text
        ON CONFLICT (subscription_id, command_id) DO NOTHING
        RETURNING 1)
    SELECT count(*) FROM queued
"""


async def _queue_expiring(
    conn: Connection, incoming: IncomingLifecycle, policy: ProgrammePolicy
) -> int:
    command = incoming.command
    expiry = policy.expiry
    if expiry is None or expiry.notice_days == 0:
        return 0
    if not await _subscribed(conn, command.programme_id, "points.expiring"):
        return 0
    notice_day = command.local_day + timedelta(days=expiry.notice_days)
    queued: int = await conn.fetchval(
        _QUEUE_EXPIRING,
        command.programme_id,
        notice_day,
        day_start(notice_day, expiry.zone),
    )
    if queued:
        await conn.execute("SELECT pg_notify('webhook_deliveries', '')")
    return queued


async def _queue_released(
    conn: Connection, incoming: IncomingLifecycle, entries: list[PlannedEntry]
) -> None:
    await queue_available(conn, entries)


async def _no_notices(
    conn: Connection, incoming: IncomingLifecycle, policy: ProgrammePolicy
) -> int:
    return 0


def _due_by(day_column: str) -> str:
    return f"""
        SELECT account_id, owner_id FROM ledger.accounts
        WHERE programme_id = $1 AND {day_column} <= $2
        ORDER BY {day_column}, account_id
        LIMIT $3"""


EXPIRING = Action(
    programme_account=AccountKind.EXPIRED,
    due_accounts=_due_by("lots_next_due"),  # the partial index accounts_lots_due
    plan=_plan_expiry,
    queue_webhooks=_queue_expired,
    queue_notices=_queue_expiring,
)
RELEASING = Action(
    programme_account=AccountKind.PENDING,
    due_accounts=_due_by("pending_next_release"),  # accounts_pending_due
    plan=_plan_release,
    queue_webhooks=_queue_released,
    queue_notices=_no_notices,
)
