"""How every change of a programme's configuration is made, whoever makes it: the one path from
a change to a stored, audited and published snapshot.

1. The programme is locked for configuration changes (a Postgres advisory lock held until the
   snapshot is published), so two changes, from the console and the CLI say, are made one after
   the other and published in the order of their versions: the compacted topic ends with the
   newest.
2. In one transaction: the stored snapshot is read, the change builds the next one (a pure
   function, version + 1, validated whole), and it is stored with its version's history row
   (where it came from) and the audit entry (the changed object before and after).
3. The snapshot is published on the configuration topic, as `loyalty-admin load-programme`
   always did; a failure there leaves it stored, and says so (`loyalty-admin republish`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import JsonValue

from gateway.admin import programmes
from gateway.admin.service import audit
from gateway.admin.service.actors import Actor, unknown_programme
from gateway.admin.service.backend import Backend
from gateway.admin.service.errors import Conflict, NotFound, Unavailable
from gateway.admin.service.snapshots import plain, unchanged
from schemas.programme import ProgrammeConfig

Source = Literal["file", "console", "api"]
LOCK_WAIT_S = 30.0


@dataclass(frozen=True, slots=True)
class Change:
    """A change of one object of a programme's configuration: `apply` builds the next snapshot
    from the current one (pure; raises Invalid); `audited` is the object's state in a snapshot,
    for the audit entry's before and after (None where it does not exist)."""

    action: audit.Action | Callable[[ProgrammeConfig], audit.Action]
    """Fixed, or told by the current snapshot (a partner added, or changed)."""
    object_type: str
    object_id: str
    apply: Callable[[ProgrammeConfig], ProgrammeConfig]
    audited: Callable[[ProgrammeConfig], JsonValue]


@dataclass(frozen=True, slots=True)
class Committed:
    config: ProgrammeConfig
    changed: bool
    """False when the change left the snapshot as it was: nothing stored, nothing published."""


async def commit(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    change: Change,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    """Make `change`; `expected_version`, when given, must be the stored version (a form
    carries the version it showed, so a change made meanwhile is not overwritten)."""
    actor.require_editor(programme_id)
    async with locked(backend.pool, programme_id) as connection:
        async with connection.transaction():
            current = await stored(connection, programme_id)
            if current is None:
                raise NotFound(unknown_programme(programme_id))
            if expected_version is not None and expected_version != current.version:
                raise Conflict(
                    f"programme {programme_id} changed meanwhile (version {current.version}, "
                    f"not {expected_version}): reload it and make the change again"
                )
            proposed = change.apply(current)
            if unchanged(current, proposed):
                return Committed(current, changed=False)
            await store(connection, proposed, actor, source)
            action = (
                change.action
                if isinstance(change.action, audit.Action)
                else (change.action(current))
            )
            await audit.record(
                connection, actor, action, change.object_type, change.object_id,
                programme_id, change.audited(current), change.audited(proposed),
            )  # fmt: skip
        await publish(backend, proposed)
    return Committed(proposed, changed=True)


@asynccontextmanager
async def locked(
    pool: asyncpg.Pool, programme_id: str
) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
    """A connection holding the programme's configuration lock (session-level, released on
    the way out, whatever happened)."""
    async with pool.acquire() as connection:
        key = f"programme-config:{programme_id}"
        try:
            async with asyncio.timeout(LOCK_WAIT_S):
                await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
        except TimeoutError as exc:
            raise Unavailable(
                f"programme {programme_id} is being changed by someone else; try again"
            ) from exc
        try:
            yield connection
        finally:
            await connection.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)


async def stored(
    connection: PoolConnectionProxy[asyncpg.Record], programme_id: str
) -> ProgrammeConfig | None:
    config = await connection.fetchval(
        "SELECT config::text FROM programmes WHERE programme_id = $1 FOR UPDATE", programme_id
    )
    return None if config is None else ProgrammeConfig.model_validate_json(config)


async def store(
    connection: PoolConnectionProxy[asyncpg.Record],
    config: ProgrammeConfig,
    actor: Actor,
    source: Source,
    source_file: str | None = None,
) -> None:
    """The snapshot as the programme's, and as a version of its history."""
    await programmes.upsert(connection, config)
    await connection.execute(
        "INSERT INTO programme_versions (programme_id, version, config, source, source_file, "
        "actor) VALUES ($1, $2, $3::jsonb, $4, $5, $6)",
        config.programme_id,
        config.version,
        programmes.snapshot_bytes(config).decode(),
        source,
        source_file,
        actor.label,
    )


async def publish(backend: Backend, config: ProgrammeConfig) -> None:
    await backend.publisher.publish([config])


def whole(config: ProgrammeConfig) -> JsonValue:
    """`Change.audited` for changes of the whole programme."""
    return plain(config)
