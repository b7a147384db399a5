"""The outbox sends each topic partition's records in the order they were added, as few record
batches as the batch size allows, to the partition aiokafka's own `send` would pick for a key."""

import asyncio
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from processors import outbox as outbox_module
from processors.outbox import KeyPartitions, Outbox, RecordBatch

NO_COMPRESSION = 0


class Batch:
    """aiokafka's record batch, remembering what was appended to it."""

    def __init__(self, size: int) -> None:
        self._builder = BatchBuilder(size, NO_COMPRESSION)
        self.records: list[tuple[bytes | None, bytes]] = []
        self.closed = False

    def append(self, *, timestamp: int | None, key: bytes | None, value: bytes) -> Any:
        metadata = self._builder.append(timestamp=timestamp, key=key, value=value)
        if metadata is not None:
            self.records.append((key, value))
        return metadata

    def close(self) -> None:
        self.closed = True
        self._builder.close()


class Producer:
    def __init__(self, partitions: int, batch_size: int = 1_000_000) -> None:
        self.partitions = set(range(partitions))
        self.batch_size = batch_size
        self.sent: list[tuple[str, int, Batch]] = []

    def create_batch(self) -> RecordBatch:
        return Batch(self.batch_size)

    async def send_batch(self, batch: RecordBatch, topic: str, *, partition: int) -> Any:
        assert isinstance(batch, Batch)
        assert batch.closed
        self.sent.append((topic, partition, batch))
        return f"delivery {len(self.sent)}"

    async def partitions_for(self, topic: str) -> set[int]:
        return self.partitions


def records_by_partition(producer: Producer) -> dict[tuple[str, int], list[tuple[Any, bytes]]]:
    out: dict[tuple[str, int], list[tuple[Any, bytes]]] = {}
    for topic, partition, batch in producer.sent:
        out.setdefault((topic, partition), []).extend(batch.records)
    return out


def test_keyed_records_go_where_aiokafkas_partitioner_puts_them_in_order() -> None:
    producer = Producer(partitions=4)
    outbox = Outbox(lambda: producer)
    keys = [f"prog\x1fuser-{n % 37}".encode() for n in range(300)]
    for index, key in enumerate(keys):
        outbox.add("commands", key, f"command {index}".encode(), None)

    deliveries = asyncio.run(outbox.send())

    assert len(deliveries) == len(producer.sent) <= 4  # one batch per partition
    sent = records_by_partition(producer)
    partitioner = DefaultPartitioner()
    for (topic, partition), records in sent.items():
        assert topic == "commands"
        for key, _ in records:
            assert partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3]) == partition
        indexes = [int(value.split()[1]) for _, value in records]
        assert indexes == sorted(indexes)
    assert sum(len(records) for records in sent.values()) == 300


def test_records_with_a_partition_go_to_it_beside_keyed_ones_of_other_topics() -> None:
    producer = Producer(partitions=4)
    outbox = Outbox(lambda: producer)
    outbox.add("changelog", b"u1", b"state 1", 2)
    outbox.add("commands", b"u1", b"command 1", None)
    outbox.add("changelog", b"u2", b"state 2", 2)
    outbox.add("changelog", b"u3", b"state 3", 0)

    asyncio.run(outbox.send())

    sent = records_by_partition(producer)
    assert sent[("changelog", 2)] == [(b"u1", b"state 1"), (b"u2", b"state 2")]
    assert sent[("changelog", 0)] == [(b"u3", b"state 3")]
    commands = [records for (topic, _), records in sent.items() if topic == "commands"]
    assert commands == [[(b"u1", b"command 1")]]


def test_a_full_batch_is_sent_and_the_next_one_started_keeping_the_order() -> None:
    producer = Producer(partitions=1, batch_size=512)
    outbox = Outbox(lambda: producer)
    for index in range(40):
        outbox.add("commands", b"k", f"{index:03d}".encode() * 20, None)

    deliveries = asyncio.run(outbox.send())

    assert len(deliveries) == len(producer.sent) > 1
    values = [value for _, value in records_by_partition(producer)[("commands", 0)]]
    assert values == [f"{index:03d}".encode() * 20 for index in range(40)]


def test_a_record_larger_than_a_batch_goes_alone_as_with_send() -> None:
    producer = Producer(partitions=1, batch_size=256)
    outbox = Outbox(lambda: producer)
    outbox.add("commands", b"k", b"small", None)
    outbox.add("commands", b"k", b"x" * 1_000, None)
    outbox.add("commands", b"k", b"after", None)

    asyncio.run(outbox.send())

    assert [len(batch.records) for _, _, batch in producer.sent] == [1, 1, 1]
    values = [value for _, value in records_by_partition(producer)[("commands", 0)]]
    assert values == [b"small", b"x" * 1_000, b"after"]


def test_a_record_without_key_or_partition_is_refused() -> None:
    outbox = Outbox(lambda: Producer(partitions=2))
    outbox.add("commands", None, b"value", None)
    with pytest.raises(ValueError, match="without a key needs a partition"):
        asyncio.run(outbox.send())


def test_an_empty_outbox_sends_nothing_and_is_empty_after_a_send() -> None:
    producer = Producer(partitions=2)
    outbox = Outbox(lambda: producer)
    assert asyncio.run(outbox.send()) == []
    outbox.add("commands", b"k", b"v", None)
    asyncio.run(outbox.send())
    assert asyncio.run(outbox.send()) == []
    assert len(producer.sent) == 1


def test_more_partitions_on_the_topic_move_keys_as_the_partitioner_would() -> None:
    producer = Producer(partitions=2)
    outbox = Outbox(lambda: producer)
    keys = [f"user-{n}".encode() for n in range(50)]
    for key in keys:
        outbox.add("commands", key, key, None)
    asyncio.run(outbox.send())
    producer.partitions, producer.sent = set(range(6)), []
    for key in keys:
        outbox.add("commands", key, key, None)
    asyncio.run(outbox.send())

    partitioner = DefaultPartitioner()
    for (_, partition), records in records_by_partition(producer).items():
        assert all(partitioner(key, list(range(6)), []) == partition for key, _ in records)


def test_remembered_partitions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_module, "PARTITIONS_REMEMBERED_MAX", 10)
    partitions = KeyPartitions({0, 1, 2})
    for n in range(25):
        partitions.of(f"user-{n}".encode())
        assert len(partitions._of) <= 10  # the bound is the point
    assert partitions.of(b"user-3") == DefaultPartitioner()(b"user-3", [0, 1, 2], [])
