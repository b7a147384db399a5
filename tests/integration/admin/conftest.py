"""The service layer on the session's real Postgres, publishing on a compacted configuration
topic of its own on the real Kafka; programmes and admins with fresh names per test."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.kafka_tools import create_topics, delete_topics_of
from gateway.admin.service import admins, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend, kafka_snapshots
from schemas.programme import ProgrammeConfig

RUN = uuid.uuid4().hex[:8]
CLI = Actor.cli()


@pytest.fixture(scope="session")
async def config_topic(kafka_bootstrap: str) -> AsyncIterator[str]:
    topic = f"admin-config-{RUN}"
    await create_topics(kafka_bootstrap, {topic: 1}, {"cleanup.policy": "compact"})
    yield topic
    await delete_topics_of(kafka_bootstrap, RUN)


@pytest.fixture(scope="session")
async def admin_pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def backend(
    admin_pool: asyncpg.Pool, kafka_bootstrap: str, config_topic: str
) -> AsyncIterator[Backend]:
    async with kafka_snapshots(kafka_bootstrap, config_topic) as publisher:
        yield Backend(admin_pool, publisher)


def fresh_id(prefix: str = "prog") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def programme_data(programme_id: str, version: int = 1) -> dict[str, object]:
    return {
        "programme_id": programme_id,
        "version": version,
        "tiers": [{"name": "Bronze"}, {"name": "Silver", "multiplier": "1.5"}],
        "default_tier": "Bronze",
        "event_types": [{"name": "purchase"}, {"name": "signup"}],
        "partners": [{"partner_id": "shop", "allowed_event_types": ["purchase"]}],
    }


@pytest.fixture
async def programme(backend: Backend) -> ProgrammeConfig:
    """A programme loaded from a 'file' by the CLI."""
    config = ProgrammeConfig.model_validate(programme_data(fresh_id()))
    await programmes.load(backend, CLI, config, source_file="shop.yaml")
    return config


async def make_admin(
    pool: asyncpg.Pool, role: str, programmes_: list[str], password: str = "correct horse 1"
) -> admins.Admin:
    return await admins.create(pool, CLI, f"{fresh_id(role)}@example.com", role, password,
                               programmes_)  # fmt: skip


async def published(bootstrap: str, topic: str, programme_id: str) -> list[bytes]:
    """Every snapshot of the programme on the topic, oldest first."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        values: list[bytes] = []
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=1_000)
            for record in batch.get(partition, []):
                if record.key == programme_id.encode() and record.value is not None:
                    values.append(record.value)
        return values
    finally:
        await consumer.stop()


def version_of(snapshot: bytes) -> int:
    version: int = orjson.loads(snapshot)["version"]
    return version
