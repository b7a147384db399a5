"""API clients that trigger rules by id (seed 001): client id plus a secret, checked against its
SHA-256 in constant time. The check reads the stored clients through `ClientSecrets`: Postgres in
the process, an in-memory fake in the slice's unit tests (tests/unit/gateway/triggers)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from gateway.errors import Unauthorized
from gateway.keys import Environment


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    programme_id: str
    environment: Environment


@dataclass(frozen=True, slots=True)
class StoredClient:
    client: Client
    secret_sha256: bytes


class ClientSecrets(Protocol):
    async def stored(self, client_id: str) -> StoredClient | None:
        """The client and its secret's digest; None when unknown or revoked."""


class PostgresClientSecrets:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def stored(self, client_id: str) -> StoredClient | None:
        row = await self._pool.fetchrow(
            "SELECT programme_id, environment, secret_sha256 FROM api_clients "
            "WHERE client_id = $1 AND revoked_at IS NULL",
            client_id,
        )
        if row is None:
            return None
        client = Client(client_id, row["programme_id"], row["environment"])
        return StoredClient(client, row["secret_sha256"])


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def authenticate(pool: asyncpg.Pool, client_id: str | None, secret: str | None) -> Client:
    return await check_secret(PostgresClientSecrets(pool), client_id, secret)


async def check_secret(clients: ClientSecrets, client_id: str | None, secret: str | None) -> Client:
    """The client the id and secret name; Unauthorized (401) when either is missing or wrong."""
    if not client_id or not secret:
        raise Unauthorized("missing client id or secret")
    found = await clients.stored(client_id)
    if found is None or not hmac.compare_digest(found.secret_sha256, secret_digest(secret)):
        raise Unauthorized("unknown client id or wrong secret")
    return found.client


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
