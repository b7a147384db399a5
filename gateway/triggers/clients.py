"""API clients that trigger rules by id (seed 001): client id plus a secret, checked against its
SHA-256 in constant time."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import asyncpg

from gateway.errors import Unauthorized
from gateway.keys import Environment


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    programme_id: str
    environment: Environment


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def authenticate(pool: asyncpg.Pool, client_id: str | None, secret: str | None) -> Client:
    if not client_id or not secret:
        raise Unauthorized("missing client id or secret")
    row = await pool.fetchrow(
        "SELECT programme_id, environment, secret_sha256 FROM api_clients "
        "WHERE client_id = $1 AND revoked_at IS NULL",
        client_id,
    )
    if row is None or not hmac.compare_digest(row["secret_sha256"], secret_digest(secret)):
        raise Unauthorized("unknown client id or wrong secret")
    return Client(client_id, row["programme_id"], row["environment"])


async def create(
    pool: asyncpg.Pool, client_id: str, programme_id: str, environment: Environment
) -> str:
    """Registers the client and returns its secret, which is shown only this once."""
    secret = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO api_clients (client_id, secret_sha256, programme_id, environment) "
        "VALUES ($1, $2, $3, $4)",
        client_id,
        secret_digest(secret),
        programme_id,
        environment,
    )
    return secret
