"""Builds the faust application: topics, the user-state table, the config follower and the agent.

The agent stays thin: it moves bytes between Kafka, the table and `handling.handle`, which holds
every decision."""

import time
from typing import Any

import faust
import orjson

from processors import metrics
from processors.catalog import ProgrammeCatalog, follow
from processors.engine import InvariantError
from processors.external import ExternalPoints
from processors.handling import Decided, NeedsAmounts, Record, command_bytes, handle
from processors.settings import ProcessorSettings
from schemas.dead_letters import DeadLetter

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

    async def decide_events(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            record = _record(event)
            handled = handle(record, states.get(event.key), catalog)
            if isinstance(handled, NeedsAmounts):
                fetched = await _external_amounts(handled, amounts, external, catalog)
                handled = handle(record, states.get(event.key), catalog, fetched)
            if isinstance(handled, NeedsAmounts):
                raise InvariantError(f"{handled.event.event_id}: amounts given, still asked for")
            if isinstance(handled, Decided):
                states[event.key] = handled.state
            await _emit(handled, event.key, ledger_commands, dead_letters)
            metrics.LATENCY.observe(time.perf_counter() - started)

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


async def _external_amounts(
    needed: NeedsAmounts, recorded: Any, external: ExternalPoints, catalog: ProgrammeCatalog
) -> dict[str, int]:
    key = needed.event.event_id.encode()
    if key in recorded:
        return {rule: int(points) for rule, points in orjson.loads(recorded[key]).items()}
    config = catalog.config(needed.event.programme_id)
    if config is None:
        raise InvariantError(f"programme {needed.event.programme_id} vanished mid-event")
    fetched = await external.amounts(needed.calls, needed.event, config)
    recorded[key] = orjson.dumps(fetched)
    return fetched


def _record(event: faust.EventT[Any]) -> Record:
    message = event.message
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        timestamp=None,
    )


async def _emit(
    handled: Decided | DeadLetter, key: bytes | None, ledger: Any, dead_letters: Any
) -> None:
    if isinstance(handled, DeadLetter):
        metrics.DEAD_LETTERS.labels(handled.reason).inc()
        await dead_letters.send(key=key, value=handled.model_dump_json().encode())
        return
    _count(handled)
    await ledger.send(key=key, value=command_bytes(handled.command))


def _count(decided: Decided) -> None:
    programme = decided.event.programme_id
    status = decided.decision.status
    metrics.EVENTS.labels(programme, status).inc()
    for reason in metrics.rejection_reasons(status, decided.command.explanation):
        metrics.REJECTIONS.labels(programme, reason).inc()
    for award in decided.decision.awards:
        if award.kind == "earn":
            metrics.POINTS.labels(programme, award.rule_id).inc(award.points)
