"""The broker, aiokafka and faust-streaming fit together: the four things the system relies on."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from deploy.kafka_tools import create_topics, delete_topics_of
from deploy.local.settings import LocalSettings

pytestmark = pytest.mark.integration
RECORDS = 20


# Every topic (and faust app) of this module holds this id; they are deleted at the end.
RUN = uuid.uuid4().hex[:8]


def unique(name: str) -> str:
    return f"smoke-{name}-{RUN}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
async def topics_deleted(kafka_bootstrap: str) -> AsyncIterator[None]:
    yield
    await delete_topics_of(kafka_bootstrap, RUN)


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await client.start()
    yield client
    await client.stop()


async def consume(bootstrap: str, topic: str, count: int, group: str | None = None) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        values: list[bytes] = []
        async with asyncio.timeout(60):
            while len(values) < count:
                batch = await consumer.getmany(timeout_ms=1000, max_records=count - len(values))
                values += [record.value for records in batch.values() for record in records]
        if group is not None:
            await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def test_plain_produce_and_consume(kafka_bootstrap: str) -> None:
    topic = unique("plain")
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks=1, enable_idempotence=False)
    await plain.start()
    try:
        for index in range(RECORDS):
            await plain.send_and_wait(topic, str(index).encode(), partition=0)
    finally:
        await plain.stop()
    values = await consume(kafka_bootstrap, topic, RECORDS)
    assert values == [str(index).encode() for index in range(RECORDS)]


async def test_idempotent_producer(kafka_bootstrap: str, producer: AIOKafkaProducer) -> None:
    topic = unique("idempotent")
    sent = [await producer.send(topic, f"v{index}".encode(), key=b"k") for index in range(RECORDS)]
    metadata = await asyncio.gather(*sent)
    assert [item.offset for item in metadata] == list(range(RECORDS))
    assert await consume(kafka_bootstrap, topic, RECORDS) == [f"v{i}".encode() for i in range(20)]


async def test_consumer_group_commits_offsets(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic, group = unique("group"), unique("group")
    for index in range(RECORDS):
        await producer.send_and_wait(topic, str(index).encode(), partition=0)
    first_half = await consume(kafka_bootstrap, topic, RECORDS // 2, group=group)
    second_half = await consume(kafka_bootstrap, topic, RECORDS // 2, group=group)
    assert first_half + second_half == [str(index).encode() for index in range(RECORDS)]
    checker = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await checker.start()
    try:
        assert await checker.committed(TopicPartition(topic, 0)) == RECORDS
    finally:
        await checker.stop()


@pytest.fixture
def faust_env(kafka_bootstrap: str, local_settings: LocalSettings) -> dict[str, str]:
    return {
        "SMOKE_PARTITIONS": str(local_settings.kafka_partitions),
        "SMOKE_APP_ID": unique("app"),
        "SMOKE_BOOTSTRAP": kafka_bootstrap,
        "SMOKE_SOURCE": unique("source"),
        "SMOKE_OUTPUT": unique("output"),
    }


def start_worker(env: dict[str, str], data_dir: str) -> subprocess.Popen[bytes]:
    """Starts the counter app; its log goes to `data_dir`.log (`ready` reads it)."""
    argv = [sys.executable, "-m", "tests.integration.broker.faust_counter_app"]
    argv += ["--datadir", data_dir, "worker", "--loglevel", "info"]
    with open(f"{data_dir}.log", "wb") as log:
        return subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=log)


async def ready(data_dir: str) -> None:
    """Returns once the worker has its partitions, its table recovered and its streams sought:
    a record sent earlier can be fetched while faust still joins, and faust 0.15 then drops it
    (README, "Records in order"), which is not what this test is about."""
    log = Path(f"{data_dir}.log")
    async with asyncio.timeout(60):
        while True:  # a file to poll: no event to wait on
            if b"Recovery]: Worker ready" in log.read_bytes():
                return
            await asyncio.sleep(0.2)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


async def test_faust_table_recovers_from_changelog_after_restart(
    kafka_bootstrap: str, producer: AIOKafkaProducer, faust_env: dict[str, str], tmp_path: Path
) -> None:
    """The second worker starts with an empty memory store and must rebuild it from Kafka."""
    output = faust_env["SMOKE_OUTPUT"]
    # Made before the worker subscribes: a topic made later reaches it only at its next
    # metadata refresh (minutes).
    partitions = int(faust_env["SMOKE_PARTITIONS"])
    await create_topics(kafka_bootstrap, {faust_env["SMOKE_SOURCE"]: partitions, output: 1})
    worker = start_worker(faust_env, f"{tmp_path}/first")
    try:
        await ready(f"{tmp_path}/first")
        for _ in range(3):
            await producer.send_and_wait(faust_env["SMOKE_SOURCE"], b'"x"', key=b'"user"')
        assert await consume(kafka_bootstrap, output, 3) == [b'"1"', b'"2"', b'"3"']
    finally:
        stop_worker(worker)
    worker = start_worker(faust_env, f"{tmp_path}/second")
    try:
        await ready(f"{tmp_path}/second")
        await producer.send_and_wait(faust_env["SMOKE_SOURCE"], b'"x"', key=b'"user"')
        assert (await consume(kafka_bootstrap, output, 4))[-1] == b'"4"'
    finally:
        stop_worker(worker)
