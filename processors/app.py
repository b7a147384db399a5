"""Builds the faust application: topics, the user-state table, the config follower and the agent.

The agent stays thin: it iterates the stream, asks `pipeline.EventPipeline` for the record's
outcome, writes the user's new state to the table and hands the outcome back for emitting."""

from typing import Any

import faust

from processors import metrics
from processors.catalog import ProgrammeCatalog, follow
from processors.external import ExternalPoints
from processors.handling import Decided
from processors.pipeline import EventPipeline
from processors.settings import ProcessorSettings

# Records are bytes to faust: decoding and validation are ours (handling.py), so a bad record
# becomes a dead letter instead of a crash inside faust's deserialiser. Tables whose key and
# value types are bytes get faust's raw serialiser.
RAW: dict[str, Any] = {
    "key_type": bytes,
    "value_type": bytes,
    "key_serializer": "raw",
    "value_serializer": "raw",
}


def create_app(settings: ProcessorSettings, catalog: ProgrammeCatalog) -> faust.App:
    """`catalog` must be loaded already: the agent never waits for configuration, because
    pausing inside a faust stream can leave records undelivered after a rebalance."""
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
    events = app.topic(settings.events_topic, **RAW)
    ledger_commands = app.topic(settings.ledger_commands_topic, **RAW)
    dead_letters = app.topic(settings.dead_letters_topic, **RAW)
    states = app.Table(
        "user-state", partitions=settings.topic_partitions, key_type=bytes, value_type=bytes
    )
    # The external amounts each programmatic award used, so a redelivery decides the same.
    amounts = app.Table(
        "external-amounts", partitions=settings.topic_partitions, key_type=bytes, value_type=bytes
    )
    external = ExternalPoints(
        settings.external_timeout_s, settings.external_attempts_max, settings.external_backoff_s
    )

    async def follow_configuration() -> None:
        await follow(catalog, settings.kafka_bootstrap_servers)

    pipeline = EventPipeline(catalog, states, amounts, external, ledger_commands, dead_letters)

    async def decide_events(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            with metrics.LATENCY.time():
                handled = await pipeline.decide(event.message)
                if isinstance(handled, Decided):
                    states[event.message.key] = handled.state
                await pipeline.emit(handled, event.message.key)

    async def report_lag() -> None:
        consumer = app.consumer
        mine = [tp for tp in consumer.assignment() if tp.topic == settings.events_topic]
        ends = await consumer.highwaters(*mine)
        for tp in mine:
            position = await consumer.position(tp)
            if position is not None:
                metrics.LAG.labels(str(tp.partition)).set(max(0, ends[tp] - position))

    app.task(follow_configuration)
    app.timer(interval=settings.lag_report_interval_s)(report_lag)
    # concurrency=1: with more, faust can commit offsets past messages still in flight.
    app.agent(events, name="decide-events", concurrency=1)(decide_events)
    return app
