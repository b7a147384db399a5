"""Following the compacted configuration topic (`config.v1`): every programme's newest snapshot.

Each process reads the whole topic itself (no consumer group): every processors worker needs
every programme whichever events partitions it owns, and every gateway instance answers for
every programme. What a process keeps of a snapshot is its own (`Snapshots`): the processors
compile it for the engine, the gateway only reads it."""

import asyncio
import logging
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from runtime.kafka import partitions_of
from schemas import topics
from schemas.programme import ProgrammeConfig

log = logging.getLogger(__name__)
FETCH_RECORDS_MAX = 500


class Snapshots(Protocol):
    """Where the snapshots go: `apply` gets each record's value in order (it keeps a newer
    version and ignores the rest); `ready` is set once the topic has been read to its end."""

    ready: asyncio.Event

    def apply(self, snapshot: bytes) -> object: ...


class ProgrammeConfigs:
    """Every programme's newest valid snapshot, as `Snapshots` for `follow`. Subclasses keep
    more of each snapshot they install (`installed`)."""

    def __init__(self) -> None:
        self._configs: dict[str, ProgrammeConfig] = {}
        self.ready = asyncio.Event()

    def config(self, programme_id: str) -> ProgrammeConfig | None:
        return self._configs.get(programme_id)

    def version(self, programme_id: str) -> int | None:
        config = self._configs.get(programme_id)
        return None if config is None else config.version

    def apply(self, snapshot: bytes) -> ProgrammeConfig | None:
        """Install a snapshot unless an equal or newer version is installed; None if rejected."""
        try:
            config = ProgrammeConfig.model_validate_json(snapshot)
        except ValidationError:
            log.exception("ignoring an invalid programme snapshot")
            return None
        if (self.version(config.programme_id) or 0) >= config.version:
            return None
        self.installed(config)
        self._configs[config.programme_id] = config
        log.info("programme %s now at version %d", config.programme_id, config.version)
        return config

    def installed(self, config: ProgrammeConfig) -> None:
        """Called with each snapshot before it becomes the programme's current one."""


async def follow(
    snapshots: Snapshots,
    bootstrap_servers: str,
    topic: str = topics.CONFIG,
    *,
    until_caught_up: bool = False,
) -> None:
    """Read the configuration topic from the start, flag readiness at the end offsets, then
    keep following (or return there, with `until_caught_up`)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    partitions = await partitions_of(bootstrap_servers, topic)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end_offsets = await consumer.end_offsets(partitions)
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=FETCH_RECORDS_MAX)
            for records in batches.values():
                for record in records:
                    if record.value is not None:
                        snapshots.apply(record.value)
            if not snapshots.ready.is_set() and await _caught_up(consumer, end_offsets):
                snapshots.ready.set()
                if until_caught_up:
                    return
    finally:
        await consumer.stop()


async def _caught_up(consumer: AIOKafkaConsumer, end_offsets: dict[TopicPartition, int]) -> bool:
    positions = [await consumer.position(tp) for tp in end_offsets]
    return all(
        position >= end for position, end in zip(positions, end_offsets.values(), strict=True)
    )
