"""The topics the system needs, created with the settings a single test node and production share
(compaction for config.v1); replication follows the broker's default."""

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas import topics


def wanted(partitions: int, replication: int = 1) -> list[NewTopic]:
    return [
        NewTopic(topics.EVENTS, partitions, replication),
        NewTopic(topics.LEDGER_COMMANDS, partitions, replication),
        NewTopic(topics.DEAD_LETTERS, 1, replication),
        NewTopic(topics.CONFIG, 1, replication, topic_configs={"cleanup.policy": "compact"}),
    ]


async def ensure(bootstrap_servers: str, partitions: int, replication: int = 1) -> list[str]:
    """Create the missing topics; returns their names."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [topic for topic in wanted(partitions, replication) if topic.name not in existing]
        if missing:
            # Another starter may win the race; the topic is then what we want.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        await admin.close()
