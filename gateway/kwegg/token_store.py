"""Access tokens in Postgres (`kwegg_access_tokens`), stored by their SHA-256 only: the
`AccessTokens` port of `gateway.kwegg.ports`."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.kwegg.tokens import Session

_PRUNE = """
DELETE FROM kwegg_access_tokens
WHERE programme_id = $1 AND user_id = $2
  AND (expires_at <= $3 OR token_sha256 IN (
      SELECT token_sha256 FROM kwegg_access_tokens
      WHERE programme_id = $1 AND user_id = $2 AND expires_at > $3
      ORDER BY created_at DESC OFFSET $4))
"""


@dataclass(frozen=True, slots=True)
class PostgresAccessTokens:
    pool: asyncpg.Pool

    async def store(
        self,
        token_sha256: bytes,
        session: Session,
        platform: str | None,
        now: datetime,
        tokens_per_user_max: int,
    ) -> None:
        """One transaction: the new token and the pruning of the user's others."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO kwegg_access_tokens (token_sha256, programme_id, partner_id, "
                "user_id, platform, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                token_sha256,
                session.programme_id,
                session.partner_id,
                session.user_id,
                platform,
                now,
                session.expires_at,
            )
            await connection.execute(
                _PRUNE, session.programme_id, session.user_id, now, tokens_per_user_max
            )

    async def session(self, token_sha256: bytes, now: datetime) -> Session | None:
        row = await self.pool.fetchrow(
            "SELECT programme_id, partner_id, user_id, expires_at FROM kwegg_access_tokens "
            "WHERE token_sha256 = $1 AND expires_at > $2",
            token_sha256,
            now,
        )
        if row is None:
            return None
        return Session(row["programme_id"], row["partner_id"], row["user_id"], row["expires_at"])
