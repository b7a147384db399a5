"""A batch's records, handed to the producer as one Kafka record batch per topic partition.

faust's `Producer.send`, and aiokafka's `send` under it, cost about 10 µs a record on the
development machine (a coroutine, a partitioner in Python, a future and an accumulator lookup
for every record): as much as deciding the event. An `Outbox` appends each record to the
aiokafka `BatchBuilder` of its topic partition (C code) and hands each builder to the producer
with `send_batch`: one delivery per partition instead of one per record. What lands in Kafka is
the same: one ledger command per record, one state per changelog record, keyed as before, so
no reader of the topics can tell the difference.

A keyed record without a partition goes where aiokafka's default partitioner (Kafka's murmur2,
as the Java client) would put it, remembered per key: the events and their users repeat."""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka.partitioner import DefaultPartitioner

PARTITIONS_REMEMBERED_MAX = 200_000
"""Keys whose partition is remembered, per topic (about 100 bytes each); forgotten all at once
when full."""


class RecordBatch(Protocol):
    """aiokafka's `BatchBuilder`, as the outbox uses it."""

    def append(self, *, timestamp: int | None, key: bytes | None, value: bytes) -> Any: ...

    def close(self) -> None: ...


class BatchProducer(Protocol):
    """aiokafka's `AIOKafkaProducer`, as the outbox uses it."""

    def create_batch(self) -> RecordBatch: ...

    async def send_batch(
        self, batch: RecordBatch, topic: str, *, partition: int
    ) -> Awaitable[Any]: ...

    async def partitions_for(self, topic: str) -> set[int]: ...


class KeyPartitions:
    """The partition of each key on one topic, as aiokafka's default partitioner chooses it."""

    def __init__(self, partitions: set[int]) -> None:
        self.partitions = sorted(partitions)
        self._of: dict[bytes, int] = {}

    def of(self, key: bytes) -> int:
        known = self._of.get(key)
        if known is not None:
            return known
        if len(self._of) >= PARTITIONS_REMEMBERED_MAX:
            self._of.clear()
        partition: int = DefaultPartitioner()(key, self.partitions, self.partitions)
        self._of[key] = partition
        return partition


class Outbox:
    """Collects records (`add`), then sends them (`send`): each topic partition's records in
    the order they were added, in as few record batches as the producer's batch size allows.
    One per worker, used for one batch of events at a time."""

    def __init__(self, producer: Callable[[], BatchProducer]) -> None:
        """`producer`: the running producer (faust starts it after the app is made)."""
        self._producer_of = producer
        self._partitions: dict[str, KeyPartitions] = {}
        self._records: dict[tuple[str, int | None], list[tuple[bytes | None, bytes]]] = {}

    def add(self, topic: str, key: bytes | None, value: bytes, partition: int | None) -> None:
        """`partition` None: the key's partition (such a record must have a key)."""
        records = self._records.get((topic, partition))
        if records is None:
            records = self._records[(topic, partition)] = []
        records.append((key, value))

    async def send(self) -> list[Awaitable[Any]]:
        """Hands every record to the producer; returns their deliveries (one per batch sent)."""
        # Taken before anything can fail: a batch that fails is decided again from its records
        # (its offsets are not committed), so nothing of it may linger into the next send.
        staged, self._records = self._records, {}
        by_partition: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
        for (topic, partition), records in staged.items():
            if partition is not None:
                by_partition.setdefault((topic, partition), []).extend(records)
                continue
            keys = await self._key_partitions(self._producer_of(), topic)
            for key, value in records:
                if key is None:
                    raise ValueError(f"a record for {topic} without a key needs a partition")
                by_partition.setdefault((topic, keys.of(key)), []).append((key, value))
        producer = self._producer_of()
        deliveries: list[Awaitable[Any]] = []
        for (topic, partition), records in by_partition.items():
            deliveries += await _send_partition(producer, topic, partition, records)
        return deliveries

    async def _key_partitions(self, producer: BatchProducer, topic: str) -> KeyPartitions:
        """The topic's key partitions, made again when its partitions change."""
        partitions = await producer.partitions_for(topic)
        known = self._partitions.get(topic)
        if known is None or len(known.partitions) != len(partitions):
            known = self._partitions[topic] = KeyPartitions(partitions)
        return known


async def _send_partition(
    producer: BatchProducer, topic: str, partition: int, records: list[tuple[bytes | None, bytes]]
) -> list[Awaitable[Any]]:
    """A full batch is sent and the next one started (the first record of a batch always fits,
    however large, as with `send`)."""
    deliveries: list[Awaitable[Any]] = []
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(timestamp=None, key=key, value=value) is None:
            deliveries.append(await _sent(producer, batch, topic, partition))
            batch = producer.create_batch()
            batch.append(timestamp=None, key=key, value=value)
    deliveries.append(await _sent(producer, batch, topic, partition))
    return deliveries


async def _sent(
    producer: BatchProducer, batch: RecordBatch, topic: str, partition: int
) -> Awaitable[Any]:
    # Closed, so that no `send` of another caller adds a record to it meanwhile.
    batch.close()
    return await producer.send_batch(batch, topic, partition=partition)
