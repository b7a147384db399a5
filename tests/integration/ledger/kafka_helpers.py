"""Topics of their own for each test, and helpers to produce commands and read dead letters."""

import uuid
from collections.abc import Iterable

import orjson
from aiokafka import AIOKafkaConsumer

from deploy.kafka_tools import create_topics
from ledger.core.batch import IncomingCommand
from ledger.settings import LedgerSettings
from runtime.kafka import produce as produce_raw
from schemas.topics import user_key

# Every topic the session's ledger tests make holds this id; the conftest deletes them at the end.
RUN = uuid.uuid4().hex[:8]
made_topics: list[str] = []


async def writer_settings(bootstrap: str, database_url: str, **overrides: object) -> LedgerSettings:
    """Settings for a writer on fresh topics and a fresh consumer group."""
    suffix = f"{RUN}-{uuid.uuid4().hex[:10]}"
    commands, dead_letters = f"ledger-commands-{suffix}", f"dead-letters-{suffix}"
    await create_topics(bootstrap, {commands: 3, dead_letters: 3})
    made_topics.extend((commands, dead_letters))
    values: dict[str, object] = {
        "kafka_bootstrap_servers": bootstrap,
        "database_url": database_url,
        "consumer_group": f"ledger-writer-{suffix}",
        "commands_topic": commands,
        "dead_letters_topic": dead_letters,
        **overrides,
    }
    return LedgerSettings.model_validate(values)


async def produce(
    bootstrap: str, topic: str, records: Iterable[IncomingCommand | tuple[bytes, bytes]]
) -> int:
    """Commands keyed by user (one user's commands stay in order), or raw (key, value) pairs."""
    return await produce_raw(bootstrap, topic, (_pair(record) for record in records))


def _pair(record: IncomingCommand | tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    if not isinstance(record, IncomingCommand):
        return record
    command = record.command
    return user_key(command.programme_id, command.user_id), command.model_dump_json().encode()


async def read_all(
    bootstrap: str, topic: str, expected: int, timeout_ms: int = 10_000
) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    values: list[dict[str, object]] = []
    try:
        for _ in range(50):
            fetched = await consumer.getmany(timeout_ms=timeout_ms // 50)
            values += [orjson.loads(r.value) for rs in fetched.values() for r in rs if r.value]
            if len(values) >= expected:
                break
    finally:
        await consumer.stop()
    return values
