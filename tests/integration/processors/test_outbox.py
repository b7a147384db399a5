"""Records sent through the outbox, on the real broker, are the records a plain `send` makes:
each key on the partition aiokafka's `send` puts it on, each partition's records in the order they
were added, every record once, compressed as the processors compress (zstd) and read back."""

import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from deploy.kafka_tools import create_topics, delete_topics_of
from processors.outbox import Outbox
from processors.settings import ProcessorSettings

pytestmark = pytest.mark.integration

PARTITIONS = 4


async def read_all(bootstrap: str, topic: str, count: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of the topic's first `count` records, in each partition's order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        out: list[tuple[int, bytes, bytes]] = []
        while len(out) < count:
            fetched = await consumer.getmany(timeout_ms=1_000)
            for tp, records in fetched.items():
                out += [(tp.partition, r.key or b"", r.value or b"") for r in records]
        return out
    finally:
        await consumer.stop()


async def test_the_outbox_puts_records_where_send_does_in_order(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:8]
    batched, plain = f"outbox-batched-{run}", f"outbox-plain-{run}"
    await create_topics(kafka_bootstrap, {batched: PARTITIONS, plain: PARTITIONS})
    compression = ProcessorSettings().producer_compression
    # A small batch size, so that a partition's records take several batches.
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, compression_type=compression, max_batch_size=4_096
    )
    await producer.start()
    try:
        outbox = Outbox(lambda: producer)
        keys = [f"prog\x1fuser-{n % 53}".encode() for n in range(1_000)]
        for index, key in enumerate(keys):
            outbox.add(batched, key, f"{index}".encode(), None)
        deliveries = await outbox.send()
        assert len(deliveries) > PARTITIONS
        for delivery in deliveries:
            await delivery
        for key in dict.fromkeys(keys):
            await (await producer.send(plain, key=key, value=b"-"))
    finally:
        await producer.stop()
    try:
        got = await read_all(kafka_bootstrap, batched, len(keys))
        reference = await read_all(kafka_bootstrap, plain, len(set(keys)))
    finally:
        await delete_topics_of(kafka_bootstrap, run)

    partition_of = {key: partition for partition, key, _ in reference}
    by_partition: dict[int, list[int]] = defaultdict(list)
    for partition, key, value in got:
        assert partition_of[key] == partition
        by_partition[partition].append(int(value))
    assert sorted(i for values in by_partition.values() for i in values) == list(range(1_000))
    for values in by_partition.values():
        assert values == sorted(values)
