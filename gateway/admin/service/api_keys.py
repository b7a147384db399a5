"""Partners' API keys, per environment: issued (the key shown once, only its SHA-256 stored),
listed (prefix, partner, created, last used) and revoked; each issue and revocation audited.
Keys are credentials, not configuration: no snapshot changes."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor, unknown_programme
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Invalid, NotFound
from gateway.keys import PREFIXES, Environment, IssuedKey
from gateway.keys import issue as new_key
from schemas.programme import ProgrammeConfig


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    partner_id: str
    environment: Environment
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def prefix(self) -> str:
        """What a person recognises the key by: `lk_live_<id>`, the secret left out."""
        return f"{PREFIXES[self.environment]}{self.key_id}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def audited(self) -> JsonValue:
        return {
            "key_id": self.key_id,
            "prefix": self.prefix,
            "partner_id": self.partner_id,
            "environment": self.environment,
            "revoked": self.revoked_at is not None,
        }


_COLUMNS = "key_id, partner_id, environment, created_at, last_used_at, revoked_at"


async def listed(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> list[Key]:
    """Active keys first, newest first."""
    actor.require_visible(programme_id)
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM api_keys WHERE programme_id = $1 "
        "ORDER BY revoked_at IS NOT NULL, created_at DESC, key_id",
        programme_id,
    )
    return [Key(**dict(row)) for row in rows]


async def issue(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    partner_id: str,
    environment: Environment,
    *,
    key_id: str | None = None,
    secret: str | None = None,
) -> IssuedKey:
    """A new key for a partner of the programme, of the programme's environment. `key_id` and
    `secret` are for the fixed local demo key only."""
    actor.require_editor(programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        stored = await connection.fetchval(
            "SELECT config::text FROM programmes WHERE programme_id = $1 FOR SHARE", programme_id
        )
        if stored is None:
            raise NotFound(unknown_programme(programme_id))
        _check(ProgrammeConfig.model_validate_json(stored), partner_id, environment)
        key = new_key(environment, key_id, secret)
        inserted = await connection.fetchrow(
            "INSERT INTO api_keys (key_id, key_sha256, programme_id, partner_id, environment) "
            f"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key_sha256) DO NOTHING RETURNING {_COLUMNS}",
            key.key_id, key.sha256, programme_id, partner_id, environment,
        )  # fmt: skip
        if inserted is not None:  # the fixed demo key, issued again, is already there
            await audit.record(
                connection, actor, audit.Action.API_KEY_ISSUED, "api_key", key.key_id,
                programme_id, None, Key(**dict(inserted)).audited(),
            )  # fmt: skip
    return key


def _check(config: ProgrammeConfig, partner_id: str, environment: Environment) -> None:
    if config.partner(partner_id) is None:
        raise Invalid.field(
            "partner_id", f"programme {config.programme_id} has no partner '{partner_id}'"
        )
    if environment != config.environment:
        raise Invalid.field(
            "environment",
            f"programme {config.programme_id} is {config.environment}; a {environment} "
            "credential cannot reach it",
        )


async def revoke(backend: Backend, actor: Actor, programme_id: str, key_id: str) -> Key:
    """The key stops working within the gateway's key cache time (30 s by default). Revoking
    a revoked key changes nothing."""
    actor.require_editor(programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = $1 AND programme_id = $2 FOR UPDATE",
            key_id,
            programme_id,
        )
        if row is None:
            raise NotFound(f"programme {programme_id} has no API key '{key_id}'")
        before = Key(**dict(row))
        if not before.active:
            return before
        revoked = await connection.fetchrow(
            f"UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 RETURNING {_COLUMNS}",
            key_id,
        )
        assert revoked is not None  # the row is locked
        after = Key(**dict(revoked))
        await audit.record(
            connection, actor, audit.Action.API_KEY_REVOKED, "api_key", key_id, programme_id,
            before.audited(), after.audited(),
        )  # fmt: skip
    return after
