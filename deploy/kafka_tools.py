"""Kafka for the benchmarks: fresh topics per run, and a bulk producer of raw records."""

import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

IN_FLIGHT_MAX = 5_000


async def fresh_topics(bootstrap: str, partitions: int) -> tuple[str, str]:
    """(commands topic, dead-letters topic), new for this run: no earlier run's records count."""
    suffix = uuid.uuid4().hex[:10]
    commands, dead_letters = f"bench-ledger-commands-{suffix}", f"bench-dead-letters-{suffix}"
    await create_topics(bootstrap, {commands: partitions, dead_letters: 1})
    return commands, dead_letters


async def create_topics(bootstrap: str, partitions_by_topic: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, partitions, 1) for name, partitions in partitions_by_topic.items()]
        )
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """(key, value) pairs, at most IN_FLIGHT_MAX unacknowledged at a time; returns the count."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    sent = 0
    try:
        in_flight = []
        for key, value in records:
            in_flight.append(await producer.send(topic, value=value, key=key))
            sent += 1
            if len(in_flight) >= IN_FLIGHT_MAX:
                for future in in_flight:
                    await future
                in_flight.clear()
        for future in in_flight:
            await future
    finally:
        await producer.stop()
    return sent
