"""Kafka metadata a reader needs before it consumes, and a bounded bulk producer."""

from collections.abc import Iterable
from typing import Final

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

IN_FLIGHT_MAX: Final = 5_000


async def partitions_of(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`. A consumer's own metadata covers only what it subscribed to,
    so readers that assign partitions by hand ask the cluster first."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    numbers = sorted(partition["partition"] for partition in description["partitions"])
    if not numbers:
        raise LookupError(f"topic {topic} does not exist")
    return [TopicPartition(topic, number) for number in numbers]


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """(key, value) pairs, with an idempotent acks=all producer and at most `IN_FLIGHT_MAX`
    unacknowledged at a time; returns the count."""
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
