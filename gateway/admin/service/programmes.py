"""Programmes: the ones an admin may see, their settings, creating one from nothing, loading
one from a file, exporting one as a file, and where the stored snapshot came from."""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.admin.service import audit
from gateway.admin.service.actors import Actor, unknown_programme
from gateway.admin.service.backend import Backend
from gateway.admin.service.configuration import (
    Change,
    Committed,
    Source,
    commit,
    locked,
    publish,
    store,
    stored,
)
from gateway.admin.service.errors import Conflict, NotFound
from gateway.admin.service.snapshots import (
    Difference,
    ProgrammeSettings,
    differences,
    export_yaml,
    new_programme,
    plain,
    settings_of,
    with_settings,
)
from schemas.programme import ProgrammeConfig


@dataclass(frozen=True, slots=True)
class Summary:
    programme_id: str
    name: str
    environment: str
    version: int
    updated_at: datetime


async def visible(pool: asyncpg.Pool, actor: Actor) -> list[Summary]:
    granted = None if actor.programmes is None else sorted(actor.programmes)
    rows = await pool.fetch(
        "SELECT programme_id, name, environment, config_version, updated_at FROM programmes "
        "WHERE $1::text[] IS NULL OR programme_id = ANY($1) ORDER BY programme_id",
        granted,
    )
    return [
        Summary(r["programme_id"], r["name"], r["environment"], r["config_version"],
                r["updated_at"])
        for r in rows
    ]  # fmt: skip


async def get(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> ProgrammeConfig:
    actor.require_visible(programme_id)
    config = await pool.fetchval(
        "SELECT config::text FROM programmes WHERE programme_id = $1", programme_id
    )
    if config is None:
        raise NotFound(unknown_programme(programme_id))
    return ProgrammeConfig.model_validate_json(config)


async def create(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    settings: ProgrammeSettings,
    *,
    source: Source,
) -> ProgrammeConfig:
    """Version 1 of a new programme, with these settings and nothing else yet. Owners only; an
    owner without every programme is granted the new one."""
    actor.require_owner("create programmes")
    config = new_programme(programme_id, settings)
    async with locked(backend.pool, programme_id) as connection:
        async with connection.transaction():
            if await stored(connection, programme_id) is not None:
                raise Conflict(f"programme '{programme_id}' exists already")
            await store(connection, config, actor, source)
            await _grant_creator(connection, actor, programme_id)
            await audit.record(
                connection, actor, audit.Action.PROGRAMME_CREATED, "programme", programme_id,
                programme_id, None, plain(config),
            )  # fmt: skip
        await publish(backend, config)
    return config


async def _grant_creator(connection: audit.Connection, actor: Actor, programme_id: str) -> None:
    if actor.admin_id is not None and actor.programmes is not None:
        await connection.execute(
            "INSERT INTO admin_grants (admin_id, programme_id) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING",
            actor.admin_id,
            programme_id,
        )


async def change_settings(
    backend: Backend,
    actor: Actor,
    programme_id: str,
    settings: ProgrammeSettings,
    *,
    source: Source,
    expected_version: int | None = None,
) -> Committed:
    change = Change(
        action=audit.Action.PROGRAMME_SETTINGS_CHANGED,
        object_type="programme",
        object_id=programme_id,
        apply=lambda current: with_settings(current, settings),
        audited=lambda config: settings_of(config).model_dump(mode="json"),
    )
    return await commit(
        backend, actor, programme_id, change, source=source, expected_version=expected_version
    )


async def load(
    backend: Backend,
    actor: Actor,
    config: ProgrammeConfig,
    *,
    source_file: str | None,
) -> Committed:
    """A whole snapshot from a programme file (`loyalty-admin load-programme`, an import in the
    console or the admin API). A changed file must carry a higher version; the stored version
    again is unchanged (and published again, which repairs a topic that lost its record); the
    same version changed is refused."""
    programme_id = config.programme_id
    actor.require_visible(programme_id)
    async with locked(backend.pool, programme_id) as connection:
        async with connection.transaction():
            current = await stored(connection, programme_id)
            if current is None:
                actor.require_owner("create programmes")
            else:
                actor.require_editor(programme_id)
            changed = _newer(config, current)
            if changed:
                await store(connection, config, actor, "file", source_file)
                if current is None:
                    await _grant_creator(connection, actor, programme_id)
                await audit.record(
                    connection, actor, audit.Action.PROGRAMME_LOADED, "programme", programme_id,
                    programme_id, None if current is None else plain(current), plain(config),
                )  # fmt: skip
        await publish(backend, config)
    return Committed(config, changed)


def _newer(config: ProgrammeConfig, current: ProgrammeConfig | None) -> bool:
    if current is None or config.version > current.version:
        return True
    if config == current:
        return False
    raise Conflict(
        f"programme {config.programme_id}: version {config.version} differs from the stored "
        f"version {current.version}; raise `version` to publish a change"
    )


async def export(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> str:
    """The stored snapshot as a programme file that `load` takes back unchanged."""
    config = await get(pool, actor, programme_id)
    return export_yaml(
        config,
        header=f"Programme {programme_id}, version {config.version}, as stored.\n"
        "Raise `version` with every change; load with: loyalty-admin load-programme FILE",
    )


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    source: str
    source_file: str | None
    actor: str
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where the stored snapshot came from, and what the last programme file loaded changed."""

    current: Version | None
    """None when the stored version has no history (stored around the service layer)."""
    last_file: Version | None
    file_changed: list[Difference]
    """The last loaded file against the version before it (all of it for a first version)."""
    changed_since_file: list[Difference]
    """The stored snapshot against the last loaded file: what was changed elsewhere since."""

    @property
    def from_file(self) -> bool:
        return self.current is not None and self.current.source == "file"


async def provenance(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> Provenance:
    config = await get(pool, actor, programme_id)
    columns = "version, source, source_file, actor, stored_at, config::text AS config"
    current = await pool.fetchrow(
        f"SELECT {columns} FROM programme_versions WHERE programme_id = $1 AND version = $2",
        programme_id,
        config.version,
    )
    file_row = await pool.fetchrow(
        f"SELECT {columns} FROM programme_versions WHERE programme_id = $1 AND source = 'file' "
        "ORDER BY version DESC LIMIT 1",
        programme_id,
    )
    current_version = None if current is None else _version(current)
    if file_row is None:
        return Provenance(current_version, None, [], [])
    loaded = ProgrammeConfig.model_validate_json(file_row["config"])
    previous = await pool.fetchval(
        "SELECT config::text FROM programme_versions WHERE programme_id = $1 AND version < $2 "
        "ORDER BY version DESC LIMIT 1",
        programme_id,
        loaded.version,
    )
    before = None if previous is None else plain(ProgrammeConfig.model_validate_json(previous))
    return Provenance(
        current_version,
        _version(file_row),
        differences(before, plain(loaded)),
        differences(plain(loaded), plain(config)),
    )


def _version(row: asyncpg.Record) -> Version:
    return Version(
        row["version"], row["source"], row["source_file"], row["actor"], row["stored_at"]
    )
