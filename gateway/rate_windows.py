"""The partners' rate windows in Postgres, shared by every gateway instance: one statement per
reservation (`reserve_partner_rate`, deploy/migrations/0130_partner_rate_windows.sql)."""

import asyncio
from dataclasses import dataclass

import asyncpg

from gateway.errors import DATABASE_UNREACHABLE, Unavailable
from gateway.rate_limits import Reservation

RESERVE = "SELECT slots, window_left_s FROM reserve_partner_rate($1, $2, $3, $4, $5)"
# The database does not answer: unreachable, or too slow (the row locked, the pool exhausted).
NO_ANSWER: tuple[type[Exception], ...] = (TimeoutError, *DATABASE_UNREACHABLE)


@dataclass(frozen=True, slots=True)
class PostgresRateWindows:
    pool: asyncpg.Pool
    timeout_s: float

    async def reserve(
        self, programme_id: str, partner_id: str, limit: int, wanted: int, window_s: float
    ) -> Reservation:
        # Refused rather than let through: a limit nobody can count is not a limit, and nothing
        # is published yet, so the partner may simply retry.
        try:
            async with asyncio.timeout(self.timeout_s):
                row = await self.pool.fetchrow(
                    RESERVE, programme_id, partner_id, limit, wanted, window_s
                )
        except NO_ANSWER as exc:
            raise Unavailable(
                "the partner's rate limit cannot be checked now (the database does not answer); "
                "nothing was published: retry shortly"
            ) from exc
        if row is None:  # the function returns one row, always
            raise RuntimeError("reserve_partner_rate returned no row")
        return Reservation(row["slots"], row["window_left_s"])
