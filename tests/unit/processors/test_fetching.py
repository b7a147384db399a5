"""The worker's consumer fetches (and its producer batches) as its settings say, not as faust
hard-codes, and its consumer hands on no record fetched before its partition was sought."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import Message

from processors.app import faust_app
from processors.fetching import ExactConsumer, FetchBatchingTransport, SeekEpochs
from processors.progress import PartitionProgress
from processors.settings import ProcessorSettings


async def test_the_workers_consumer_lets_the_broker_batch_its_fetches(tmp_path: Path) -> None:
    settings = ProcessorSettings(
        fetch_wait_ms=7, fetch_min_bytes=4096, processors_data_dir=tmp_path
    )
    app = faust_app(settings)
    assert isinstance(app.transport, FetchBatchingTransport)
    # What faust's consumer thread starts when the worker runs (nothing connects before that).
    thread = cast(faust_aiokafka.Consumer, app.consumer)._thread
    consumer = thread._create_worker_consumer(app.transport)
    try:
        assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (7, 4096)
    finally:
        await consumer.stop()
        thread.thread_loop.close()  # the thread's own loop, which only its run would close


async def test_a_fetch_hands_on_no_record_of_a_partition_sought_once_it_was_in_hand() -> None:
    epochs = SeekEpochs()
    zero, one = TP("events.v1", 0), TP("events.v1", 1)

    async def fetched() -> AsyncIterator[tuple[TP, int]]:
        yield zero, 440
        yield one, 17
        epochs.sought([zero])  # holes.rewind, or the recovery's seek, while faust delivers
        yield zero, 441
        yield one, 18

    assert [r async for r in epochs.fresh(fetched())] == [(zero, 440), (one, 17), (one, 18)]

    async def again() -> AsyncIterator[tuple[TP, int]]:
        # Sought while aiokafka fetched: it hands on only records of the new position.
        epochs.sought([zero])
        yield zero, 281

    assert [r async for r in epochs.fresh(again())] == [(zero, 281)]


def exact_consumer(app: faust.App) -> ExactConsumer:
    consumer = cast(ExactConsumer, app.consumer)
    # faust made the consumer's thread, with a loop of its own that only its run would close.
    cast(faust_aiokafka.Consumer, consumer)._thread.thread_loop.close()
    return consumer


async def test_a_fetch_handed_over_while_a_seek_was_on_its_way_is_dropped_after_it(
    tmp_path: Path,
) -> None:
    consumer = exact_consumer(faust_app(ProcessorSettings(processors_data_dir=tmp_path)))
    zero = TP("events.v1", 0)

    async def old_position() -> AsyncIterator[tuple[TP, int]]:
        yield zero, 900
        yield zero, 901

    fetch = consumer._epochs.fresh(old_position())

    async def on_its_way_to_the_consumer_thread(partition: TP, offset: int) -> None:
        # The agent's loop runs on meanwhile, and faust hands over a fetch's first record.
        assert await anext(fetch) == (zero, 900)

    consumer._seek = on_its_way_to_the_consumer_thread  # type: ignore[method-assign]
    await consumer.seek(zero, 500)
    assert [r async for r in fetch] == []


@dataclass
class Event:
    message: Message


async def test_the_consumer_commits_the_events_as_delivered_and_other_topics_as_acked(
    tmp_path: Path,
) -> None:
    app = faust_app(ProcessorSettings(processors_data_dir=tmp_path))
    consumer = exact_consumer(app)
    app.consumer_generation_id = 4
    events, previews = TP("events.v1", 0), TP("previews.v1", 0)

    async def peek(tp: TP, offset: int) -> int | None:
        return None

    progress = PartitionProgress("events.v1", consumer._committed_offset.get, peek)
    consumer.progress = progress
    for tp in (events, previews):
        consumer._committed_offset[tp] = 10
        consumer._acked[tp] = [10, 11, 12]
        consumer._acked_index[tp] = {10, 11, 12}
    decided = Message("events.v1", 0, 10, 0.0, 0, None, b"k", b"v", None)
    await progress.sort([Event(decided)], generation=4)

    assert consumer._new_offset(events) is None  # decided, not yet in Kafka
    assert consumer._new_offset(previews) == 13
    progress.delivered()
    assert consumer._new_offset(events) == 11
    assert consumer._acked[events] == [11, 12]


def test_the_workers_producer_batches_as_many_bytes_as_its_settings_say(tmp_path: Path) -> None:
    # Not the default (262,144): the setting's value, not a number written in app.py.
    settings = ProcessorSettings(producer_max_batch_bytes=65_536, processors_data_dir=tmp_path)
    producer = cast(faust_aiokafka.Producer, faust_app(settings).producer)
    assert producer._settings_default()["max_batch_size"] == 65_536
