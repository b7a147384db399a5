from collections.abc import Sequence
from dataclasses import dataclass

from faust.types import TP
from faust.types.tuples import ConsumerMessage

from processors.progress import RESEEK_AFTER_S, PartitionProgress

ZERO, ONE = TP("events.v1", 0), TP("events.v1", 1)


@dataclass
class Event:
    message: ConsumerMessage


def event(tp: TP, offset: int) -> Event:
    message = ConsumerMessage(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None)
    message.incref()  # the agent's stream holds it
    return Event(message)


def offsets(events: list[Event]) -> list[tuple[int, int]]:
    return [(e.message.partition, e.message.offset) for e in events]


class Broker:
    def __init__(self, first: int | None) -> None:
        self.first = first
        self.asked: list[tuple[TP, int]] = []

    async def peek(self, tp: TP, offset: int) -> int | None:
        self.asked.append((tp, offset))
        return self.first


def progress(committed: dict[TP, int], broker: Broker | None = None) -> PartitionProgress:
    return PartitionProgress("events.v1", committed.get, (broker or Broker(None)).peek)


async def test_each_partitions_records_are_decided_from_its_committed_offset_in_order() -> None:
    made = progress({ZERO: 10, ONE: 3})
    batch = [event(ZERO, 10), event(ONE, 3), event(ZERO, 11), event(ONE, 4)]

    order = await made.sort(batch, generation=1)

    assert offsets(order.decide) == [(0, 10), (1, 3), (0, 11), (1, 4)]
    assert order.behind == {}


async def test_a_record_after_a_missing_one_is_held_with_the_rest_of_its_partition() -> None:
    made = progress({ZERO: 10, ONE: 3})
    batch = [event(ZERO, 10), event(ZERO, 484), event(ONE, 3), event(ZERO, 11), event(ZERO, 485)]

    order = await made.sort(batch, generation=1)

    assert offsets(order.decide) == [(0, 10), (1, 3)]
    assert order.behind == {ZERO: (11, 484)}
    # Held: faust's ack of the batch does not release them.
    assert [e.message.refcount for e in batch] == [1, 2, 1, 2, 2]


async def test_records_decided_already_in_this_generation_are_passed_over() -> None:
    made = progress({ZERO: 10})
    await made.sort([event(ZERO, 10), event(ZERO, 11)], generation=1)

    again = [event(ZERO, 10), event(ZERO, 11), event(ZERO, 12)]
    order = await made.sort(again, generation=1)

    assert offsets(order.decide) == [(0, 12)]
    assert [e.message.refcount for e in again] == [1, 1, 1]


async def test_the_commit_follows_what_is_in_kafka_not_what_is_decided() -> None:
    made = progress({ZERO: 10})
    await made.sort([event(ZERO, 10), event(ZERO, 11)], generation=1)
    assert made.commit_offset(ZERO, generation=1, committed=10) is None

    made.delivered()

    assert made.commit_offset(ZERO, generation=1, committed=10) == 12
    assert made.commit_offset(ZERO, generation=1, committed=12) is None
    assert made.commit_offset(ZERO, generation=2, committed=10) is None  # not ours to say


async def test_a_new_generation_starts_again_from_the_committed_offsets() -> None:
    committed = {ZERO: 10}
    made = progress(committed)
    await made.sort([event(ZERO, 10), event(ZERO, 11)], generation=1)
    made.delivered()
    committed[ZERO] = 11  # the other worker's, or ours before the rebalance

    order = await made.sort([event(ZERO, 11), event(ZERO, 12)], generation=2)

    assert offsets(order.decide) == [(0, 11), (0, 12)]
    assert made.commit_offset(ZERO, generation=2, committed=11) is None  # nothing delivered yet


async def test_a_partition_behind_is_sought_back_once_then_again_only_after_a_while() -> None:
    broker = Broker(first=11)  # the record at 11 exists: it was dropped, not missing
    made = progress({ZERO: 10}, broker)
    order = await made.sort([event(ZERO, 10), event(ZERO, 484)], generation=1)

    assert await made.to_rewind(order.behind, now=100.0) == {ZERO: 11}
    assert await made.to_rewind(order.behind, now=100.5) == {}  # fetched before the seek
    assert await made.to_rewind(order.behind, now=100.0 + RESEEK_AFTER_S) == {ZERO: 11}
    assert broker.asked == [(ZERO, 11)]
    assert (await made.sort([event(ZERO, 484)], generation=1)).decide == []


async def test_offsets_without_records_are_passed_once_the_broker_confirms_the_gap() -> None:
    broker = Broker(first=14)  # 11 to 13: a transaction's markers, or nothing at all
    made = progress({ZERO: 10}, broker)
    behind = (await made.sort([event(ZERO, 10), event(ZERO, 14)], generation=1)).behind
    await made.to_rewind(behind, now=100.0)
    behind = (await made.sort([event(ZERO, 14)], generation=1)).behind

    assert await made.to_rewind(behind, now=102.0) == {ZERO: 11}

    order = await made.sort([event(ZERO, 14), event(ZERO, 15)], generation=1)
    assert offsets(order.decide) == [(0, 14), (0, 15)]


NOTHING: dict[TP, int] = {}


class Group:
    """The broker's committed offsets of the worker's group."""

    def __init__(self, committed: dict[TP, int]) -> None:
        self.committed = committed
        self.asked: list[TP] = []

    async def starts(self, tps: Sequence[TP]) -> dict[TP, int]:
        self.asked.extend(tps)
        return {tp: self.committed[tp] for tp in tps if tp in self.committed}


async def test_a_partition_the_consumer_knows_no_committed_offset_of_starts_at_the_brokers() -> (
    None
):
    # A worker started after a SIGKILL: faust hands records over before its seek to the
    # committed offsets, and had dropped offsets 469-541 of partition 1.
    group = Group({ONE: 469})
    made = PartitionProgress("events.v1", NOTHING.get, Broker(None).peek, group.starts)
    batch = [event(ONE, 542), event(ONE, 543)]

    order = await made.sort(batch, generation=2)

    assert order.decide == []
    assert order.behind == {ONE: (469, 542)}
    assert await made.to_rewind(order.behind, now=0.0) == {ONE: 469}


async def test_the_broker_is_asked_once_per_partition_and_generation_only_when_needed() -> None:
    group = Group({ZERO: 5, ONE: 7})
    made = PartitionProgress("events.v1", {ZERO: 5}.get, Broker(None).peek, group.starts)

    for step in range(2):
        batch = [event(ZERO, 5 + step), event(ONE, 7 + step)]
        assert offsets((await made.sort(batch, generation=1)).decide) == [
            (0, 5 + step),
            (1, 7 + step),
        ]
    assert group.asked == [ONE]  # ZERO's offset the consumer knew; ONE's is known after

    await made.sort([event(ONE, 9)], generation=2)
    assert group.asked == [ONE, ONE]


async def test_a_partition_the_group_never_committed_starts_at_its_first_record() -> None:
    made = PartitionProgress("events.v1", NOTHING.get, Broker(None).peek, Group({}).starts)
    batch = [event(ZERO, 0), event(ZERO, 1)]

    assert offsets((await made.sort(batch, generation=1)).decide) == [(0, 0), (0, 1)]
