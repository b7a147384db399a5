"""API clients that trigger a programme's API rules by id (seed 001): created (the secret shown
once, only its SHA-256 stored, as `gateway.triggers.clients` checks it), listed with the rules
that authorise each, revoked.

A client is two things: a credential (`api_clients`, what the gateway authenticates) and a
declaration in the programme's snapshot (`api_clients`, what a rule may name in
`authorised_clients`). Creating one makes both in one transaction, under the programme's
configuration lock, and publishes the snapshot when the declaration is new. Revoking one ends
the credential only: the rules that name it keep their history, and the gateway refuses the
client at once (it reads the credential on every call)."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import JsonValue

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor, unknown_programme
from gateway.admin.service.backend import Backend
from gateway.admin.service.configuration import Source, locked, publish, store, stored
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.programmes import get
from gateway.admin.service.rule_changes import SLUG, SLUG_RULE, authorising, with_api_client
from gateway.admin.service.snapshots import unchanged, validated
from gateway.keys import Environment
from gateway.triggers.clients import secret_digest
from schemas.programme import ApiClient, ProgrammeConfig

SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class Client:
    """A client as the console lists it: its credential (if any) and its declaration."""

    client_id: str
    name: str | None
    environment: Environment | None
    created_at: datetime | None
    revoked_at: datetime | None
    declared: bool
    """In the programme's snapshot: rules may authorise it."""
    rules: tuple[tuple[str, str], ...]
    """The rules that authorise it: (rule id, status)."""

    @property
    def status(self) -> Literal["active", "revoked", "no secret"]:
        if self.created_at is None:
            return "no secret"
        return "active" if self.revoked_at is None else "revoked"


@dataclass(frozen=True, slots=True)
class IssuedClient:
    client_id: str
    secret: str
    """Shown once; only its SHA-256 is stored."""
    environment: Environment
    programme_version: int
    """The programme's version once the client is declared."""


async def listed(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> list[Client]:
    """Declared clients in the snapshot's order, then credentials the snapshot does not
    declare (made with `loyalty-admin create-client`), active ones first."""
    config = await get(pool, actor, programme_id)
    rows = await pool.fetch(
        "SELECT client_id, environment, created_at, revoked_at FROM api_clients "
        "WHERE programme_id = $1 ORDER BY revoked_at IS NOT NULL, created_at, client_id",
        programme_id,
    )
    credentials = {row["client_id"]: row for row in rows}
    declared = [c.client_id for c in config.api_clients]
    names = {c.client_id: c.name for c in config.api_clients}
    ordered = [*declared, *(c for c in credentials if c not in names)]
    return [_client(config, client_id, names, credentials.get(client_id)) for client_id in ordered]


def _client(
    config: ProgrammeConfig,
    client_id: str,
    names: dict[str, str | None],
    row: asyncpg.Record | None,
) -> Client:
    rules = tuple((r.rule_id, r.status) for r in authorising(config, client_id))
    return Client(
        client_id, names.get(client_id),
        None if row is None else row["environment"],
        None if row is None else row["created_at"],
        None if row is None else row["revoked_at"],
        client_id in names, rules,
    )  # fmt: skip


async def create(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    client_id: str,
    name: str | None = None,
    *,
    source: Source,
) -> IssuedClient:
    """A new client of the programme's environment; one declared already (by a programme file)
    gets its credential and keeps its declaration. A client id is one credential ever."""
    actor.require_editor(programme_id)
    client = validated(ApiClient, {"client_id": client_id, "name": name or None})
    if not SLUG.match(client.client_id):
        raise Invalid.field("client_id", SLUG_RULE)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    async with locked(backend.pool, programme_id) as connection:
        async with connection.transaction():
            current = await stored(connection, programme_id)
            if current is None:
                raise NotFound(unknown_programme(programme_id))
            proposed = with_api_client(current, client)
            changed = not unchanged(current, proposed)
            if changed:
                await store(connection, proposed, actor, source)
            inserted = await connection.fetchval(
                "INSERT INTO api_clients (client_id, secret_sha256, programme_id, environment) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO NOTHING RETURNING client_id",
                client.client_id, secret_digest(secret), programme_id, current.environment,
            )  # fmt: skip
            if inserted is None:
                raise Conflict(f"client id '{client.client_id}' is taken: choose another")
            audited: JsonValue = {
                "client_id": client.client_id, "name": client.name,
                "environment": current.environment, "declared_in_version": proposed.version,
            }  # fmt: skip
            await audit.record(
                connection, actor, audit.Action.API_CLIENT_CREATED, "api_client",
                client.client_id, programme_id, None, audited,
            )  # fmt: skip
        if changed:
            await publish(backend, proposed)
    return IssuedClient(client.client_id, secret, current.environment, proposed.version)


async def revoke(backend: Backend, actor: Actor, programme_id: str, client_id: str) -> None:
    """The client's secret stops working at once; revoking a revoked client changes nothing."""
    actor.require_editor(programme_id)
    async with backend.pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            "SELECT revoked_at FROM api_clients WHERE client_id = $1 AND programme_id = $2 "
            "FOR UPDATE",
            client_id,
            programme_id,
        )
        if row is None:
            raise NotFound(f"programme {programme_id} has no API client '{client_id}'")
        if row["revoked_at"] is not None:
            return
        await connection.execute(
            "UPDATE api_clients SET revoked_at = now() WHERE client_id = $1", client_id
        )
        await audit.record(
            connection, actor, audit.Action.API_CLIENT_REVOKED, "api_client", client_id,
            programme_id, {"client_id": client_id, "revoked": False},
            {"client_id": client_id, "revoked": True},
        )  # fmt: skip
