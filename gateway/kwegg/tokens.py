"""Access tokens: 256-bit random secrets handed to the tenant once, stored as SHA-256 (like API
keys: no dictionary to attack, so a fast hash is enough), bound to (programme, user) and valid
until their expiry. The tenant sends one back as `Authorization: <accessToken>`; a `Bearer `
prefix is accepted too."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from gateway.errors import Unauthorized
from gateway.keys import digest

TOKEN_PREFIX = "kwt_"
TOKEN_LENGTH_MAX = 128


@dataclass(frozen=True, slots=True)
class Session:
    """Whom an access token speaks for."""

    programme_id: str
    partner_id: str
    user_id: str
    expires_at: datetime


def new_token() -> str:
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def token_of(authorization: str | None) -> str:
    """The token in an `Authorization` header: as it is, or after `Bearer `."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value.startswith(TOKEN_PREFIX) or len(value) > TOKEN_LENGTH_MAX:
        raise Unauthorized("missing or invalid access token (Authorization)")
    return value


_PRUNE = """
DELETE FROM kwegg_access_tokens
WHERE programme_id = $1 AND user_id = $2
  AND (expires_at <= $3 OR token_sha256 IN (
      SELECT token_sha256 FROM kwegg_access_tokens
      WHERE programme_id = $1 AND user_id = $2 AND expires_at > $3
      ORDER BY created_at DESC OFFSET $4))
"""


async def issue(
    pool: asyncpg.Pool,
    session: Session,
    platform: str | None,
    now: datetime,
    tokens_per_user_max: int,
) -> str:
    """Stores a new token for the session and drops the user's expired tokens and the oldest
    live ones beyond `tokens_per_user_max` (this one included in the count)."""
    token = new_token()
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO kwegg_access_tokens (token_sha256, programme_id, partner_id, user_id, "
            "platform, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            digest(token),
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
    return token


async def resolve(pool: asyncpg.Pool, authorization: str | None, now: datetime) -> Session:
    token = token_of(authorization)
    row = await pool.fetchrow(
        "SELECT programme_id, partner_id, user_id, expires_at FROM kwegg_access_tokens "
        "WHERE token_sha256 = $1 AND expires_at > $2",
        digest(token),
        now,
    )
    if row is None:
        raise Unauthorized("unknown or expired access token; log the user in again")
    return Session(row["programme_id"], row["partner_id"], row["user_id"], row["expires_at"])


def expiry(now: datetime, ttl_s: int) -> datetime:
    return now + timedelta(seconds=ttl_s)
