"""The group's committed offset of a partition, read from the real broker outside the group
(`fetching.committed_offsets`): where a new worker's partition starts while its consumer does not
know it yet (`progress.PartitionProgress.sort`)."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from faust.types import TP

from deploy.kafka_tools import create_topics, delete_topics_of
from processors.fetching import committed_offsets

pytestmark = pytest.mark.integration


async def test_the_groups_committed_offset_and_none_where_it_committed_nothing(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    topic, group = f"committed-{run}", f"committed-group-{run}"
    await create_topics(kafka_bootstrap, {topic: 2})
    try:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for _ in range(5):
                await producer.send_and_wait(topic, b"-", partition=0)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
            await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "")})
        finally:
            await consumer.stop()

        both = [TP(topic, 0), TP(topic, 1)]
        assert await committed_offsets(kafka_bootstrap, group, both) == {TP(topic, 0): 3}
        assert await committed_offsets(kafka_bootstrap, f"other-{run}", both) == {}
    finally:
        await delete_topics_of(kafka_bootstrap, run)
