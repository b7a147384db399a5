"""What a programme owner watches that is a state of the database rather than a count of what the
writer did: outstanding points (the liability), pending points, budget left, rule budgets left and
the webhook backlog, by programme.

Read every `programme_metrics_interval_s` by `refresh` (beside the writer, in its process: one
writer, so one copy of each series) in a read-only snapshot, on a connection of its own with a
statement timeout, and served from the last reading on every scrape (`metrics.PROGRAMME_STATE`).
Every query is bounded by the number of programmes, not of users: outstanding points are what the
programme's own accounts (budget, funding, redeemed, expired, pending) hold, negated, since the
ledger's balances sum to zero; summing the users' accounts would read every one of them."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final, NamedTuple

import asyncpg
from asyncpg.exceptions import InternalClientError

from ledger.db_types import Executor

log = logging.getLogger(__name__)

# A reading fails on these when the database is away or goes away under it (InternalClientError:
# asyncpg's "another operation is in progress" on a connection whose server died).
_DATABASE_ERRORS: Final = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    InternalClientError,
    OSError,
    TimeoutError,
)

PROGRAMMES_MAX: Final = 1_000
"""Programmes read per refresh, in id order: one scrape's series stay bounded."""
STATEMENT_TIMEOUT_MS: Final = 5_000


class ProgrammeState(NamedTuple):
    programme_id: str
    outstanding_points: int
    pending_points: int
    budget_remaining_points: int | None
    """None for an unfunded programme: its budget has no floor, nothing can run out."""
    webhook_backlog_deliveries: int = 0
    webhook_backlog_oldest_s: float = 0.0


class RuleBudget(NamedTuple):
    programme_id: str
    rule_id: str
    remaining_points: int


class StateReading(NamedTuple):
    programmes: list[ProgrammeState]
    rule_budgets: list[RuleBudget]


# A programme's own accounts are those without an owner (the partial index of migration 0070).
_ACCOUNTS = """
    SELECT p.programme_id, p.budget_mode,
           coalesce(sum(a.balance), 0)::bigint AS programme_accounts,
           coalesce(sum(a.balance) FILTER (WHERE a.kind = 'budget'), 0)::bigint AS budget,
           coalesce(sum(a.balance) FILTER (WHERE a.kind = 'pending'), 0)::bigint AS pending
    FROM (SELECT programme_id, budget_mode FROM programmes ORDER BY programme_id LIMIT $1) AS p
    LEFT JOIN ledger.accounts AS a ON a.programme_id = p.programme_id AND a.owner_id = ''
    GROUP BY p.programme_id, p.budget_mode
    ORDER BY p.programme_id
"""

# Deliveries not yet delivered or given up, and how long the oldest has waited since its booking.
_BACKLOG = """
    SELECT s.programme_id, count(*) AS deliveries,
           extract(epoch FROM now() - min(d.created_at))::float8 AS oldest_s
    FROM webhook_deliveries AS d
    JOIN webhook_subscriptions AS s ON s.subscription_id = d.subscription_id
    WHERE d.status = 'pending'
    GROUP BY s.programme_id
"""

# Each rule with a budget in the programme's current snapshot (the rules the writer holds to one,
# `ledger.loading.load_programmes`), less what it used.
_RULE_BUDGETS = """
    SELECT p.programme_id, r.rule ->> 'rule_id' AS rule_id,
           (r.rule ->> 'budget_max')::bigint - coalesce(u.used_points, 0) AS remaining
    FROM (SELECT programme_id, config FROM programmes ORDER BY programme_id LIMIT $1) AS p
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(p.config -> 'rules') = 'array' THEN p.config -> 'rules'
             ELSE '[]'::jsonb END) AS r(rule)
    LEFT JOIN ledger.rule_budget_usage AS u
           ON u.programme_id = p.programme_id AND u.rule_id = r.rule ->> 'rule_id'
    WHERE jsonb_typeof(r.rule -> 'budget_max') = 'number'
      AND jsonb_typeof(r.rule -> 'rule_id') = 'string'
    ORDER BY 1, 2
"""


async def read(conn: Executor) -> StateReading:
    """One reading; run it in a read-only repeatable-read transaction (`read_consistently`)."""
    accounts = await conn.fetch(_ACCOUNTS, PROGRAMMES_MAX)
    backlog = {row["programme_id"]: row for row in await conn.fetch(_BACKLOG)}
    programmes = []
    for row in accounts:
        waiting = backlog.get(row["programme_id"])
        programmes.append(
            ProgrammeState(
                programme_id=row["programme_id"],
                outstanding_points=-row["programme_accounts"],
                pending_points=row["pending"],
                budget_remaining_points=row["budget"] if row["budget_mode"] == "funded" else None,
                webhook_backlog_deliveries=0 if waiting is None else waiting["deliveries"],
                webhook_backlog_oldest_s=0.0 if waiting is None else waiting["oldest_s"],
            )
        )
    rules = [RuleBudget(*row) for row in await conn.fetch(_RULE_BUDGETS, PROGRAMMES_MAX)]
    return StateReading(programmes, rules)


async def read_consistently(pool: asyncpg.Pool) -> StateReading:
    """All figures from one snapshot, so outstanding points and budget left agree."""
    async with pool.acquire() as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
        return await read(conn)


async def refresh(
    database_url: str,
    interval_s: float,
    publish: Callable[[StateReading | None], None],
    stop: asyncio.Event,
) -> None:
    """Read and `publish` every `interval_s` until `stop` is set. A failed reading publishes
    None (the series disappear rather than show stale figures) and is retried next time.

    The pool connects only when a reading needs it (`min_size=0`), so that the database being
    away when the writer starts is a failed reading too: a pool connecting at its creation
    raised "the database system is starting up" out of this task, which stopped the writer
    (issue 19's chaos run, the writer started again just before Postgres restarted)."""
    async with asyncpg.create_pool(
        database_url,
        min_size=0,
        max_size=1,
        server_settings={"statement_timeout": str(STATEMENT_TIMEOUT_MS)},
    ) as pool:
        while not stop.is_set():
            try:
                reading: StateReading | None = await read_consistently(pool)
            except _DATABASE_ERRORS as exc:
                log.warning("programme state not read: %s", exc)
                reading = None
            publish(reading)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
