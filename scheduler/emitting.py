"""Emit a programme's due days: under the lock of its `scheduler_days` row, send each day's
commands in order, wait for Kafka's acknowledgement, then record the last day sent. A failure
anywhere rolls the record back: the days are sent again later (idempotent), never skipped. The
row lock makes two schedulers (or a round and `loyalty-scheduler emit`) take turns per
programme."""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import asyncpg

from scheduler import metrics
from scheduler.days import commands_for, days_to_emit
from scheduler.tier_reviews import SendReview, send_reviews
from schemas.topics import programme_key

Send = Callable[[bytes, bytes], Awaitable[None]]
"""Sends (key, value) to ledger-commands.v1 and returns once Kafka has acknowledged it."""


class Emitted(NamedTuple):
    programme_id: str
    days: list[date]
    last_day: date
    """The last day sent, now or before."""


async def programmes(pool: asyncpg.Pool, limit: int) -> list[tuple[str, ZoneInfo]]:
    """Every programme (up to `limit`, in id order) with its time zone."""
    rows = await pool.fetch(
        """SELECT programme_id, coalesce(config ->> 'time_zone', 'UTC') AS time_zone
           FROM programmes ORDER BY programme_id LIMIT $1""",
        limit,
    )
    return [(row["programme_id"], ZoneInfo(row["time_zone"])) for row in rows]


async def emit_due(
    pool: asyncpg.Pool,
    send: Send,
    programme_id: str,
    zone: ZoneInfo,
    through: date,
    days_max: int,
    review: SendReview | None = None,
) -> Emitted:
    """Send the days after the last one sent, up to `through`: each day's lifecycle commands,
    then (with `review`) its tier reviews. A programme seen for the first time starts at
    `through` (its history is not replayed)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO scheduler_days (programme_id, last_day) VALUES ($1, $2)
               ON CONFLICT (programme_id) DO NOTHING""",
            programme_id,
            through - timedelta(days=1),
        )
        last_day: date = await conn.fetchval(
            "SELECT last_day FROM scheduler_days WHERE programme_id = $1 FOR UPDATE",
            programme_id,
        )
        days = days_to_emit(last_day, through, days_max)
        for day in days:
            for command in commands_for(programme_id, day, zone):
                await send(programme_key(programme_id), command.model_dump_json().encode())
                metrics.COMMANDS.labels(str(command.action)).inc()
            if review is not None:
                reviews = await send_reviews(conn, review, programme_id, zone, day)
                metrics.COMMANDS.labels(metrics.TIER_REVIEWS).inc(reviews)
        if days:
            last_day = days[-1]
            await conn.execute(
                """UPDATE scheduler_days SET last_day = $2, updated_at = now()
                   WHERE programme_id = $1""",
                programme_id,
                last_day,
            )
    return Emitted(programme_id, days, last_day)


async def known_programme(pool: asyncpg.Pool, programme_id: str) -> ZoneInfo | None:
    time_zone: str | None = await pool.fetchval(
        """SELECT coalesce(config ->> 'time_zone', 'UTC') FROM programmes
           WHERE programme_id = $1""",
        programme_id,
    )
    return None if time_zone is None else ZoneInfo(time_zone)
