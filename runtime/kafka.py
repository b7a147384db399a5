"""Kafka metadata a reader needs before it consumes."""

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


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
