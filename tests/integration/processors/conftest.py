import os
import signal
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import pytest

from deploy.kafka_tools import delete_topics_of
from deploy.local import processes
from deploy.local.paths import log_file
from deploy.local.settings import LocalSettings
from tests.integration.processors.fixtures import OwnTopics, TopicReader, Worker

WorkerFactory = Callable[[], Worker]

WORKER_LOG_LINES = 500
# A worker writes where each of its tasks waits to its log on SIGQUIT (runtime.task_stacks).
STACKS_WAIT_S = 1.0
_WORKER_NAMES = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report ends with the end of each of its workers' logs, after each running
    worker has written there where each of its tasks waits: a worker that stops deciding says
    why only there, and a CI run keeps nothing else of it."""
    report = yield
    if report.when == "call" and report.failed:
        names = item.stash.get(_WORKER_NAMES, [])
        _ask_for_stacks(names)
        for name in names:
            report.sections.append((f"worker {name}, its log's last lines", _tail(log_file(name))))
    return report


def _ask_for_stacks(names: list[str]) -> None:
    pids = [pid for pid in map(processes.running_pid, names) if pid is not None]
    for pid in pids:
        os.kill(pid, signal.SIGQUIT)
    if pids:
        time.sleep(STACKS_WAIT_S)


def _tail(path: Path) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    with path.open(errors="replace") as lines:
        return "".join(deque(lines, maxlen=WORKER_LOG_LINES))


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
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    app_id: str,
    tmp_path: Path,
    own_topics: OwnTopics,
) -> Iterator[WorkerFactory]:
    """Workers of one app (one consumer group); each is stopped when the test ends, and its
    log's end is shown if the test failed."""
    started: list[Worker] = []
    names = request.node.stash.setdefault(_WORKER_NAMES, [])

    def new_worker() -> Worker:
        name = f"test-{app_id[-8:]}-{len(started)}"
        worker = Worker(kafka_bootstrap, app_id, tmp_path, name, own_topics)
        worker.start()
        started.append(worker)
        names.append(name)
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
