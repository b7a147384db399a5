"""Admin API tokens, for automation: `lat_<id>_<secret>`, shown once, stored as SHA-256, acting
as their admin (role and programmes) until revoked. `last_used_at` is written at most once a
minute per token."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor
from gateway.admin.service.admins import find, normalised_email
from gateway.admin.service.errors import Invalid, NotFound

PREFIX = "lat_"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token_id: str
    secret: str
    """The whole token: shown once, never stored."""


@dataclass(frozen=True, slots=True)
class Token:
    token_id: str
    name: str
    email: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def audited(self) -> JsonValue:
        return {
            "token_id": self.token_id,
            "name": self.name,
            "admin": self.email,
            "revoked": self.revoked_at is not None,
        }


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


_SELECT = """
SELECT t.token_id, t.name, a.email, t.created_at, t.last_used_at, t.revoked_at
FROM admin_tokens t JOIN admins a USING (admin_id)
"""


async def create(pool: asyncpg.Pool, actor: Actor, email: str, name: str) -> IssuedToken:
    """A token for the admin `email`: an owner's for anyone, anyone's for themselves."""
    email = normalised_email(email)
    if actor.email != email:
        actor.require_owner("create tokens for other admins")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid.field("name", "a name of 1 to 200 characters says what the token is for")
    token_id = secrets.token_hex(6)
    secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    async with pool.acquire() as connection, connection.transaction():
        admin = await find(connection, email)
        if admin is None:
            raise NotFound(f"no admin '{email}'")
        await connection.execute(
            "INSERT INTO admin_tokens (token_id, token_sha256, name, admin_id) "
            "VALUES ($1, $2, $3, $4)",
            token_id, _digest(secret), name, admin.admin_id,
        )  # fmt: skip
        token = await _one(connection, token_id)
        await audit.record(
            connection, actor, audit.Action.TOKEN_CREATED, "token", token_id, None, None,
            token.audited(),
        )  # fmt: skip
    return IssuedToken(token_id, secret)


async def _one(connection: audit.Connection, token_id: str) -> Token:
    row = await connection.fetchrow(_SELECT + "WHERE t.token_id = $1", token_id)
    if row is None:
        raise NotFound(f"no token '{token_id}'")
    return Token(**dict(row))


async def revoke(pool: asyncpg.Pool, actor: Actor, token_id: str) -> Token:
    token_id = token_id.removeprefix(PREFIX).split("_")[0]
    async with pool.acquire() as connection, connection.transaction():
        before = await _one(connection, token_id)
        if actor.email != before.email:
            actor.require_owner("revoke other admins' tokens")
        if before.revoked_at is not None:
            return before
        await connection.execute(
            "UPDATE admin_tokens SET revoked_at = now() WHERE token_id = $1", token_id
        )
        after = await _one(connection, token_id)
        await audit.record(
            connection, actor, audit.Action.TOKEN_REVOKED, "token", token_id, None,
            before.audited(), after.audited(),
        )  # fmt: skip
    return after


async def resolve(pool: asyncpg.Pool, secret: str) -> Actor | None:
    """The actor of a live token of an enabled admin, or None."""
    if not secret.startswith(PREFIX):
        return None
    row = await pool.fetchrow(
        """
        UPDATE admin_tokens t SET last_used_at = now()
        FROM admins a
        WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND a.admin_id = t.admin_id
          AND NOT a.disabled
          AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
        RETURNING t.token_id
        """,
        _digest(secret),
    )
    del row  # written or not (used within the minute), the token is looked up the same way
    found = await pool.fetchrow(
        """
        SELECT t.token_id, a.admin_id, a.email, a.role, a.all_programmes,
               ARRAY(SELECT programme_id FROM admin_grants g WHERE g.admin_id = a.admin_id)
                   AS programmes
        FROM admin_tokens t JOIN admins a USING (admin_id)
        WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND NOT a.disabled
        """,
        _digest(secret),
    )
    if found is None:
        return None
    granted = None if found["all_programmes"] else frozenset(found["programmes"])
    label = f"{found['email']} (token {found['token_id']})"
    return Actor(label, found["role"], found["admin_id"], granted, found["email"])


async def listed(pool: asyncpg.Pool, actor: Actor, email: str | None = None) -> list[Token]:
    """An admin's tokens (the actor's own unless an owner names another)."""
    email = normalised_email(email) if email else actor.email
    if email is None:
        raise Invalid.field("email", "whose tokens: an admin's email")
    if email != actor.email:
        actor.require_owner("list other admins' tokens")
    admin = await find(pool, email)
    if admin is None:
        raise NotFound(f"no admin '{email}'")
    rows = await pool.fetch(
        _SELECT + "WHERE t.admin_id = $1 ORDER BY t.created_at DESC", admin.admin_id
    )
    return [Token(**dict(row)) for row in rows]
