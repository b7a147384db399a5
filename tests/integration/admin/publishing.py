"""Fixtures for the service layer's changes that publish records (users' adjustments and tiers,
dead letters replayed): the console's publishing on topics of the test's own, and a real ledger
writer booking the commands topic in the background, as the running system would."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from deploy.kafka_tools import create_topics, delete_topics_of
from gateway.admin.service.backend import Backend
from gateway.admin.service.records import Publishing, kafka_publishing
from ledger.settings import LedgerSettings
from ledger.writer import open_writer

RUN = f"people{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Topics:
    events: str
    commands: str
    dead_letters: str


@pytest.fixture(scope="module")
async def people_topics(kafka_bootstrap: str) -> AsyncIterator[Topics]:
    suffix = f"{RUN}-{uuid.uuid4().hex[:6]}"
    made = Topics(f"events-{suffix}", f"commands-{suffix}", f"dead-{suffix}")
    await create_topics(kafka_bootstrap, {made.events: 2, made.commands: 2, made.dead_letters: 1})
    yield made
    # The module's topics, and the dead-letter topics its tests made (they hold RUN too).
    await delete_topics_of(kafka_bootstrap, RUN)


@pytest.fixture(scope="module")
async def publishing(
    admin_pool: asyncpg.Pool, postgres_url: str, kafka_bootstrap: str, people_topics: Topics
) -> AsyncIterator[Publishing]:
    async with kafka_publishing(
        admin_pool, postgres_url, kafka_bootstrap, events_topic=people_topics.events,
        commands_topic=people_topics.commands, wait_s=30.0, timeout_s=10.0,
    ) as made:  # fmt: skip
        yield made


@pytest.fixture(scope="module")
async def ledger_writer(
    kafka_bootstrap: str, postgres_url: str, people_topics: Topics
) -> AsyncIterator[None]:
    """A ledger writer booking the test's commands topic until the module ends."""
    settings = LedgerSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        consumer_group=f"ledger-writer-{RUN}",
        commands_topic=people_topics.commands,
        dead_letters_topic=people_topics.dead_letters,
    )
    stop = asyncio.Event()
    async with open_writer(settings) as writer:
        task = asyncio.create_task(writer.run(stop))
        await writer.wait_for_assignment()
        yield
        stop.set()
        await task


@pytest.fixture(scope="module")
def people_backend(backend: Backend, publishing: Publishing) -> Backend:
    return Backend(backend.pool, backend.publisher, publishing)


@pytest.fixture(scope="module")
async def quick_backend(
    backend: Backend, postgres_url: str, kafka_bootstrap: str, people_topics: Topics
) -> AsyncIterator[Backend]:
    """Waits 0.2 s for an outcome: for records nobody decides here (no processors run)."""
    async with kafka_publishing(
        backend.pool, postgres_url, kafka_bootstrap, events_topic=people_topics.events,
        commands_topic=people_topics.commands, wait_s=0.2, timeout_s=10.0,
    ) as made:  # fmt: skip
        yield Backend(backend.pool, backend.publisher, made)
