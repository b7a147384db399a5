"""What the service layer talks to: the database pool, the publisher of configuration
snapshots and, where records are published (the console), what publishes them and waits for
their outcomes (`records.Publishing`). The console holds one for its lifetime; each CLI command
opens its own."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.admin.programmes import snapshot_bytes
from gateway.admin.service.errors import Unavailable
from gateway.admin.service.records import Publishing
from schemas import topics
from schemas.programme import ProgrammeConfig

PUBLISH_TIMEOUT_S = 10.0


class SnapshotPublisher(Protocol):
    """Publishes snapshots on the configuration topic, keyed by programme; returns once Kafka
    has them on all in-sync replicas."""

    async def publish(self, configs: Sequence[ProgrammeConfig]) -> None: ...


@dataclass(frozen=True, slots=True)
class Backend:
    pool: asyncpg.Pool
    publisher: SnapshotPublisher
    publishing: Publishing | None = None
    """Ledger commands, events and replayed records (users' adjustments and tiers, dead
    letters); None where nothing but snapshots is published."""


class KafkaSnapshots:
    """`SnapshotPublisher` on Kafka: the same record `loyalty-admin load-programme` always
    published (`gateway.admin.programmes.snapshot_bytes`, keyed by the programme's id)."""

    def __init__(self, bootstrap_servers: str, topic: str = topics.CONFIG) -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(PUBLISH_TIMEOUT_S * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, configs: Sequence[ProgrammeConfig]) -> None:
        try:
            for config in configs:
                await self._producer.send_and_wait(
                    self.topic, snapshot_bytes(config), key=config.programme_id.encode()
                )
        except KafkaError as exc:
            names = ", ".join(f"{c.programme_id} v{c.version}" for c in configs)
            raise Unavailable(
                f"{names} stored but not published on {self.topic} ({exc}); "
                "`loyalty-admin republish` publishes it again"
            ) from exc


@asynccontextmanager
async def kafka_snapshots(bootstrap_servers: str, topic: str) -> AsyncIterator[KafkaSnapshots]:
    publisher = KafkaSnapshots(bootstrap_servers, topic)
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()
