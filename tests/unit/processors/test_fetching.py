"""The worker's consumer fetches as its settings say, not as faust hard-codes."""

from pathlib import Path
from typing import cast

from faust.transport.drivers import aiokafka as faust_aiokafka

from processors.app import faust_app
from processors.fetching import FetchBatchingTransport
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
