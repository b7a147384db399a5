"""The worker's consumer fetches as its settings say, not as faust hard-codes, and hands on no
record fetched before its partition was sought."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from processors.app import faust_app
from processors.fetching import FetchBatchingTransport, SeekEpochs
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


async def test_a_fetch_hands_on_no_record_of_a_partition_sought_since_it_began() -> None:
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
        yield zero, 281  # fetched afresh from the committed offset

    assert [r async for r in epochs.fresh(again())] == [(zero, 281)]
