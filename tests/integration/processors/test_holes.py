"""A record fetched but never acked, while later ones are, is fetched and handled again: the
worker seeks its partition back to the committed offset, and the commits go on past it. The
worker here withholds the acks itself (holey_worker.py), as faust 0.15 drops records after a
rebalance (issue #19)."""

import asyncio
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from deploy.local import processes
from deploy.local.paths import REPO
from tests.integration.processors.fixtures import OwnTopics

RECORDS = 20
WITHHELD = range(5, 8)
DEADLINE_S = 90.0


async def produce(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(RECORDS):
            await producer.send_and_wait(topic, f"record {n}".encode(), partition=0)
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, tp: TopicPartition) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(tp)
        return offset
    finally:
        await consumer.stop()


# With asyncio's debug mode on, the seek back fails unless it runs on the loop of faust's consumer
# thread (it raised "Non-thread-safe operation invoked on an event loop other than the current
# one" from the agent's loop, and the agent stopped: the chaos run's stall, issue #19).
# (Python turns it on for any value of PYTHONASYNCIODEBUG, "0" too.)
@pytest.mark.parametrize("asyncio_debug", [False, True], ids=["", "asyncio-debug"])
async def test_records_left_unacked_are_handled_again_and_committed_past(
    kafka_bootstrap: str, app_id: str, own_topics: OwnTopics, tmp_path: Path, asyncio_debug: bool
) -> None:
    await produce(kafka_bootstrap, own_topics.events)
    name = f"test-{app_id[-8:]}-holey"
    env = {
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LOYALTY_PROCESSORS_APP_ID": app_id,
        "LOYALTY_PROCESSORS_DATA_DIR": str(tmp_path / name),
        "LOYALTY_LOG_LEVEL": "warn",
        "LOYALTY_HOLE_WAIT_S": "1",
    }
    if asyncio_debug:
        env["PYTHONASYNCIODEBUG"] = "1"
    argv = [sys.executable, "-m", "tests.integration.processors.holey_worker"]
    argv += [own_topics.events, own_topics.commands, "0", str(WITHHELD[0]), str(WITHHELD[-1])]
    reader = AIOKafkaConsumer(
        own_topics.commands, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await reader.start()
    processes.start(name, argv, env=env, cwd=REPO)
    handled: list[int] = []
    events_tp = TopicPartition(own_topics.events, 0)
    try:
        deadline = time.monotonic() + DEADLINE_S
        done = False
        while not done and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            for records in batches.values():
                values = [record.value for record in records if record.value]
                handled += [int(v.split(b":")[1]) for v in values if v.startswith(b"0:")]
            again = all(handled.count(offset) >= 2 for offset in WITHHELD)
            if again and set(range(RECORDS)) <= set(handled):
                done = await committed(kafka_bootstrap, app_id, events_tp) == RECORDS
            await asyncio.sleep(0.2)
    finally:
        processes.stop(name)
        await reader.stop()
    assert set(range(RECORDS)) <= set(handled)
    # Handled once, withheld, then sought back to and handled again.
    assert all(handled.count(offset) >= 2 for offset in WITHHELD), sorted(handled)
    assert await committed(kafka_bootstrap, app_id, events_tp) == RECORDS
