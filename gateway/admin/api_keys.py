"""Issuing and revoking partner API keys; only their SHA-256 reaches the database."""

import asyncpg

from gateway.admin.programmes import UnknownProgramme
from gateway.keys import Environment, IssuedKey, issue


async def create(
    pool: asyncpg.Pool,
    programme_id: str,
    partner_id: str,
    environment: Environment,
    key_id: str | None = None,
    secret: str | None = None,
) -> IssuedKey:
    await require_environment(pool, programme_id, environment)
    known = await pool.fetchval(
        "SELECT true FROM partners WHERE programme_id = $1 AND partner_id = $2",
        programme_id,
        partner_id,
    )
    if not known:
        raise UnknownPartner(f"programme {programme_id} has no partner '{partner_id}'")
    key = issue(environment, key_id, secret)
    await pool.execute(
        "INSERT INTO api_keys (key_id, key_sha256, programme_id, partner_id, environment) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_sha256) DO NOTHING",
        key.key_id,
        key.sha256,
        programme_id,
        partner_id,
        environment,
    )
    return key


async def revoke(pool: asyncpg.Pool, key_id: str) -> bool:
    status = await pool.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
    )
    return bool(status.endswith(" 1"))


class UnknownPartner(LookupError):
    """A key names a partner that the programme's file does not list."""


class EnvironmentMismatch(Exception):
    """A staging credential for a production programme, or the reverse."""


async def require_environment(pool: asyncpg.Pool, programme_id: str, environment: str) -> None:
    stored = await pool.fetchval(
        "SELECT environment FROM programmes WHERE programme_id = $1", programme_id
    )
    if stored is None:
        raise UnknownProgramme(programme_id)
    if stored != environment:
        raise EnvironmentMismatch(
            f"programme {programme_id} is {stored}; a {environment} credential cannot reach it"
        )
