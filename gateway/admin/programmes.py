"""Programme snapshots: Postgres is the record, `config.v1` (compacted, keyed by programme) is how
every processor learns of a change without a restart."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import orjson
import yaml
from aiokafka import AIOKafkaProducer
from asyncpg.pool import PoolConnectionProxy

from schemas import topics
from schemas.programme import ProgrammeConfig


class StaleConfiguration(Exception):
    """A changed snapshot must carry a higher version than the stored one."""


class UnknownProgramme(LookupError):
    """No programme of that id is stored."""

    def __init__(self, programme_id: str) -> None:
        super().__init__(f"unknown programme '{programme_id}' (load its file first)")
        self.programme_id = programme_id


def load_file(path: Path) -> ProgrammeConfig:
    """YAML or JSON (JSON is YAML), validated; errors name the offending field."""
    return ProgrammeConfig.model_validate(yaml.safe_load(path.read_text()))


def snapshot_bytes(config: ProgrammeConfig) -> bytes:
    return orjson.dumps(config.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


async def save(pool: asyncpg.Pool, config: ProgrammeConfig) -> bool:
    """Store the snapshot; False when the same version is already stored unchanged."""
    async with pool.acquire() as connection, connection.transaction():
        stored = await connection.fetchrow(
            "SELECT config::text AS config, config_version FROM programmes "
            "WHERE programme_id = $1 FOR UPDATE",
            config.programme_id,
        )
        if stored is not None and not is_newer(config, stored["config"], stored["config_version"]):
            return False
        await upsert(connection, config)
        return True


def is_newer(config: ProgrammeConfig, stored_json: str, stored_version: int) -> bool:
    """True for a higher version; False for the stored snapshot again, read as the model reads
    it, so a snapshot stored before a field with a default existed equals its file; a changed
    snapshot under the same version is refused."""
    if config.version > stored_version:
        return True
    if ProgrammeConfig.model_validate_json(stored_json) == config:
        return False
    raise StaleConfiguration(
        f"programme {config.programme_id}: version {config.version} differs from the stored "
        f"version {stored_version}; raise `version` to publish a change"
    )


async def upsert(connection: PoolConnectionProxy[asyncpg.Record], config: ProgrammeConfig) -> None:
    """Store the snapshot as the programme's, whatever is stored: the caller compared versions
    with the row locked (`save`, gateway.admin.service.configuration)."""
    await connection.execute(
        """
        INSERT INTO programmes
            (programme_id, name, budget_mode, config, config_version, environment)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6)
        ON CONFLICT (programme_id) DO UPDATE SET name = EXCLUDED.name,
            environment = EXCLUDED.environment,
            budget_mode = EXCLUDED.budget_mode, config = EXCLUDED.config,
            config_version = EXCLUDED.config_version, updated_at = now()
        """,
        config.programme_id,
        config.name or config.programme_id,
        config.budget.mode,
        snapshot_bytes(config).decode(),
        config.version,
        config.environment,
    )
    await connection.executemany(
        "INSERT INTO partners (programme_id, partner_id, name) VALUES ($1, $2, $2) "
        "ON CONFLICT DO NOTHING",
        [(config.programme_id, partner.partner_id) for partner in config.partners],
    )


async def publish(
    bootstrap_servers: str, configs: list[ProgrammeConfig], topic: str = topics.CONFIG
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for config in configs:
            await producer.send_and_wait(
                topic, snapshot_bytes(config), key=config.programme_id.encode()
            )
    finally:
        await producer.stop()


async def require(pool: asyncpg.Pool, programme_id: str) -> None:
    """UnknownProgramme unless the programme is stored."""
    if not await pool.fetchval("SELECT true FROM programmes WHERE programme_id = $1", programme_id):
        raise UnknownProgramme(programme_id)


async def stored_config(pool: asyncpg.Pool, programme_id: str) -> ProgrammeConfig:
    """The programme's stored snapshot; UnknownProgramme if there is none."""
    config = await pool.fetchval(
        "SELECT config::text FROM programmes WHERE programme_id = $1", programme_id
    )
    if config is None:
        raise UnknownProgramme(programme_id)
    return ProgrammeConfig.model_validate_json(config)


async def stored_configs(pool: asyncpg.Pool) -> list[ProgrammeConfig]:
    rows = await pool.fetch("SELECT config::text AS config FROM programmes ORDER BY programme_id")
    return [ProgrammeConfig.model_validate_json(row["config"]) for row in rows]
