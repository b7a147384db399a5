"""The topics the system needs, created with the settings a single test node and production share
(compaction for config.v1); replication follows the broker's default. previews.v1 has the
events' partitions (the processors answer a preview where the user's state is) and, like the
replies, keeps its records an hour: a preview is answered within seconds or not at all."""

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas import topics

PREVIEW_RETENTION = {"retention.ms": str(3_600_000)}


def wanted(partitions: int, replication: int = 1) -> list[NewTopic]:
    return [
        NewTopic(topics.EVENTS, partitions, replication),
        NewTopic(topics.LEDGER_COMMANDS, partitions, replication),
        NewTopic(topics.DEAD_LETTERS, 1, replication),
        NewTopic(topics.CONFIG, 1, replication, topic_configs={"cleanup.policy": "compact"}),
        NewTopic(topics.PREVIEWS, partitions, replication, topic_configs=PREVIEW_RETENTION),
        NewTopic(topics.PREVIEW_REPLIES, partitions, replication, topic_configs=PREVIEW_RETENTION),
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
