"""Builds the faust application: topics, the tables, the config follower and the agent.

The agent stays thin: it takes the stream in batches and asks `pipeline.EventPipeline` to decide
each batch and to write and emit what it decided (each user's state once per batch, the
commands). Batches exist for speed: faust's per-record machinery (stream, acks, table writes,
topic sends) costs more than deciding an event."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any, cast

import faust
from faust.types import TP

from processors import metrics
from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog
from processors.external import ExternalPoints
from processors.fetching import (
    ExactConsumer,
    FetchBatchingTransport,
    committed_offsets,
    first_offset,
)
from processors.holes import mend_holes, seek_to_next
from processors.outbox import BatchProducer, Outbox
from processors.pipeline import EventPipeline, Outputs, record_of
from processors.previews import Previews
from processors.progress import PartitionProgress
from processors.rebalances import RebalanceGuard
from processors.settings import ProcessorSettings
from processors.tables import Send, TableWriter
from runtime.config_feed import follow
from runtime.task_stacks import dump_on_sigquit

# Records are bytes to faust: decoding and validation are ours (handling.py), so a bad record
# becomes a dead letter instead of a crash inside faust's deserialiser. Tables whose key and
# value types are bytes get faust's raw serialiser (`table_writer`).
RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def faust_app(settings: ProcessorSettings) -> faust.App:
    """The faust application as the worker configures it, without topics, tables or agents
    (`bench.faust_floor` measures faust itself with it)."""
    app = faust.App(
        settings.processors_app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        datadir=str(settings.processors_data_dir),
        topic_partitions=settings.topic_partitions,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # Batch the commands and changelog writes of many events into one produce request.
        producer_linger=settings.producer_linger_s,
        producer_compression_type=settings.producer_compression,
        producer_max_batch_size=settings.producer_max_batch_bytes,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,
        web_enabled=False,
        # With the default (True), faust 0.15.3 intermittently stopped delivering a partition's
        # records after a rebalance (about one test run in four). Without the wait, a record
        # in flight at a rebalance is decided again by the new owner: same event id, same
        # bookings, so the ledger books it once.
        stream_wait_empty=False,
        broker_session_timeout=settings.session_timeout_s,
    )
    app.transport = FetchBatchingTransport(app, settings.fetch_wait_ms, settings.fetch_min_bytes)
    return app


def producer_send(app: faust.App) -> Send:
    """Sends through faust's producer directly: a Topic.send costs more per record than the
    decision."""

    async def send(topic: str, key: bytes | None, value: bytes, partition: int | None) -> Any:
        return await app.producer.send(topic, key, value, partition, None, None)

    return send


def batch_producer(app: faust.App) -> BatchProducer:
    """The aiokafka producer under faust's, once the worker has started it: faust's own
    `Producer` sends one record at a time (`processors.outbox` says why that matters)."""
    return cast(BatchProducer, cast(Any, app.producer)._ensure_producer())


def table_writer(app: faust.App, settings: ProcessorSettings, name: str, send: Send) -> TableWriter:
    """A table of bytes to bytes, partitioned as the events topic."""
    table = app.Table(name, partitions=settings.topic_partitions, key_type=bytes, value_type=bytes)
    return TableWriter(table, send)


def create_app(settings: ProcessorSettings, catalog: ProgrammeCatalog) -> faust.App:
    """`catalog` must be loaded already: the agent never waits for configuration, because
    pausing inside a faust stream can leave records undelivered after a rebalance."""
    app = faust_app(settings)
    events = app.topic(settings.events_topic, **RAW)
    send = producer_send(app)

    def table(name: str) -> TableWriter:
        return table_writer(app, settings, name, send)

    states = table("user-state")
    # The external amounts each programmatic award used, so a redelivery decides the same.
    amounts = table("external-amounts")
    # Points each budgeted rule awarded, per events partition (see budgets.py).
    budgets = BudgetUsage(table("rule-budgets"), settings.topic_partitions)
    external = ExternalPoints(
        settings.external_timeout_s, settings.external_attempts_max, settings.external_backoff_s
    )

    async def follow_configuration() -> None:
        await follow(catalog, settings.kafka_bootstrap_servers, settings.config_topic)

    outbox = Outbox(lambda: batch_producer(app))
    outputs = Outputs(send, outbox, settings.ledger_commands_topic, settings.dead_letters_topic)
    pipeline = EventPipeline(catalog, states, amounts, external, budgets, outputs)

    guard = RebalanceGuard(app, settings.rebalance_wait_s)
    app.on_partitions_revoked.connect(guard.on_revoked)

    async def peek(tp: TP, offset: int) -> int | None:
        return await first_offset(settings.kafka_bootstrap_servers, tp, offset)

    async def starts(tps: Sequence[TP]) -> dict[TP, int]:
        return await committed_offsets(settings.kafka_bootstrap_servers, app.conf.id, tps)

    async def decide_events(stream: faust.StreamT[bytes]) -> None:
        consumer = cast(ExactConsumer, app.consumer)
        progress = PartitionProgress(
            settings.events_topic, consumer._committed_offset.get, peek, starts
        )
        consumer.progress = progress
        # StreamT, faust's declared type, lacks take_events; the agent is handed a Stream.
        batches = cast(faust.Stream[bytes], stream).take_events
        async for batch in batches(settings.batch_events_max, within=settings.batch_wait_ms / 1000):
            async with guard.deciding():
                # Records fetched before a rebalance are held, not acked: faust seeks back to
                # the committed offsets, so they arrive again, to their owner (rebalances.py).
                current = guard.to_decide(batch)
                # Each partition's records in offset order (progress.py), from its committed
                # offset, the broker's when the consumer does not know it yet.
                order = await progress.sort(current, app.consumer_generation_id)
                metrics.BATCH_EVENTS.observe(len(order.decide))
                with metrics.BATCH_LATENCY.time():
                    await pipeline.emit(await pipeline.decide(order.decide))
                progress.delivered()
                if order.behind:
                    rewind = await progress.to_rewind(order.behind, time.monotonic())
                    for tp, offset in rewind.items():
                        await seek_to_next(consumer, tp, offset)

    previews = Previews(
        catalog,
        states,
        budgets,
        ExternalPoints(settings.preview_external_timeout_s, 1, 0.0),
        send,
        settings.dead_letters_topic,
        lambda partition: TP(settings.events_topic, partition) in app.consumer.assignment(),
    )

    async def answer_previews(stream: faust.StreamT[bytes]) -> None:
        # One at a time: a preview reads the table and writes nothing, so nothing waits on it.
        async for event in stream.events():
            await previews.answer(record_of(event.message))

    async def report_lag() -> None:
        consumer = app.consumer
        mine = [tp for tp in consumer.assignment() if tp.topic == settings.events_topic]
        ends = await consumer.highwaters(*mine)
        for tp in mine:
            position = await consumer.position(tp)
            if position is not None:
                metrics.LAG.labels(str(tp.partition)).set(max(0, ends[tp] - position))

    async def stacks_on_sigquit() -> None:
        dump_on_sigquit(asyncio.get_running_loop())

    app.task(follow_configuration)
    app.task(stacks_on_sigquit)
    mend_holes(app, settings.events_topic, settings.hole_wait_s)
    app.timer(interval=settings.lag_report_interval_s)(report_lag)
    # concurrency=1: with more, faust can commit offsets past messages still in flight.
    app.agent(events, name="decide-events", concurrency=1)(decide_events)
    previews_topic = app.topic(settings.previews_topic, **RAW)
    app.agent(previews_topic, name="answer-previews", concurrency=1)(answer_previews)
    return app
