import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from deploy.kafka_tools import delete_topics_of
from deploy.local.settings import LocalSettings
from tests.integration.processors.fixtures import OwnTopics, TopicReader, Worker

WorkerFactory = Callable[[], Worker]


@pytest.fixture
def programme_id() -> str:
    return f"prog-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def app_id(kafka_bootstrap: str) -> AsyncIterator[str]:
    """The test's own app, whose changelog and assignor topics faust deletes not, so we do."""
    app = f"loyalty-processors-test-{uuid.uuid4().hex[:8]}"
    yield app
    await delete_topics_of(kafka_bootstrap, app)


@pytest.fixture
async def own_topics(
    kafka_bootstrap: str, local_settings: LocalSettings
) -> AsyncIterator[OwnTopics]:
    made = await OwnTopics.create(kafka_bootstrap, local_settings.kafka_partitions)
    yield made
    await delete_topics_of(kafka_bootstrap, made.run)


@pytest.fixture
def workers(
    kafka_bootstrap: str, app_id: str, tmp_path: Path, own_topics: OwnTopics
) -> Iterator[WorkerFactory]:
    """Workers of one app (one consumer group); each is stopped when the test ends."""
    started: list[Worker] = []

    def new_worker() -> Worker:
        name = f"test-{app_id[-8:]}-{len(started)}"
        worker = Worker(kafka_bootstrap, app_id, tmp_path, name, own_topics)
        worker.start()
        started.append(worker)
        return worker

    yield new_worker
    for worker in started:
        worker.stop()


@pytest.fixture
async def commands(
    kafka_bootstrap: str, programme_id: str, own_topics: OwnTopics
) -> AsyncIterator[TopicReader]:
    reader = TopicReader(kafka_bootstrap, own_topics.commands, programme_id)
    await reader.start()
    yield reader
    await reader.stop()


@pytest.fixture
async def dead_letters(
    kafka_bootstrap: str, programme_id: str, own_topics: OwnTopics
) -> AsyncIterator[TopicReader]:
    reader = TopicReader(kafka_bootstrap, own_topics.dead_letters, programme_id)
    await reader.start()
    yield reader
    await reader.stop()
