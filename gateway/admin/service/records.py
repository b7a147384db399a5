"""What the service layer publishes besides configuration snapshots, and how it learns what
became of it: a manual adjustment (a ledger command on the commands topic), a tier set (a
`tier.assigned` record on the events topic), a dead letter replayed (its original bytes on its
source topic). The console holds one `Publishing` for its lifetime; a backend without one (a
CLI command that never needs it) refuses these changes as unavailable.

An outcome is waited for as the gateway waits for its own (gateway.publishing.outcomes): the
ledger writer NOTIFYs every committed outcome, and a wait registered before publishing hears of
it; past the deadline the outcome is looked up once, and the change is answered as pending."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway import errors as http_errors
from gateway.admin.service.errors import Unavailable
from gateway.publishing.outcomes import OutcomeNotifications
from ledger import reads
from schemas.ledger import CommandOutcome

WAITING_MAX = 1_000


@dataclass(frozen=True, slots=True)
class Position:
    """Where a published record landed."""

    partition: int
    offset: int


class Records(Protocol):
    """Publishes one record and returns once Kafka has it on all in-sync replicas."""

    async def publish(self, topic: str, key: bytes | None, value: bytes | None) -> Position: ...


class Outcomes(Protocol):
    async def after(
        self,
        command_id: str,
        programme_id: str,
        publish: Callable[[], Awaitable[object]],
        *,
        look_first: bool,
    ) -> CommandOutcome | None:
        """`publish`, then the ledger's outcome of `command_id` once committed within the
        deadline, else None. `look_first`: an outcome stored already (the command id was used
        before) answers without publishing."""
        ...


@dataclass(frozen=True, slots=True)
class Publishing:
    records: Records
    outcomes: Outcomes
    events_topic: str
    commands_topic: str
    replayable_topics: frozenset[str]
    """The topics a dead letter may be replayed to: this system's events and commands."""


class KafkaRecords:
    def __init__(self, bootstrap_servers: str, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(timeout_s * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, topic: str, key: bytes | None, value: bytes | None) -> Position:
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = await self._producer.send_and_wait(topic, value, key=key)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(
                f"Kafka did not take the record for {topic} ({exc}); try again"
            ) from exc
        return Position(sent.partition, sent.offset)


class NotifiedOutcomes:
    """`Outcomes` through the ledger's outcome notifications, with a lookup past the deadline."""

    def __init__(self, pool: asyncpg.Pool, notifications: OutcomeNotifications, wait_s: float):
        self._pool = pool
        self._notifications = notifications
        self._wait_s = wait_s

    async def after(
        self,
        command_id: str,
        programme_id: str,
        publish: Callable[[], Awaitable[object]],
        *,
        look_first: bool,
    ) -> CommandOutcome | None:
        try:
            waiting = self._notifications.expect(command_id)
            async with waiting as committed:
                # Registered before this lookup: an outcome committed meanwhile is notified.
                if look_first:
                    known = await reads.get_outcome(
                        self._pool, command_id, programme_id=programme_id
                    )
                    if known is not None:
                        return known
                await publish()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._wait_s):
                        await committed
        except http_errors.Unavailable as exc:
            raise Unavailable(exc.message) from exc
        notified = committed.done() and not committed.cancelled()
        outcome = committed.result() if notified else None
        if outcome is not None:
            return outcome
        return await reads.get_outcome(self._pool, command_id, programme_id=programme_id)


@asynccontextmanager
async def kafka_publishing(
    pool: asyncpg.Pool,
    database_url: str,
    bootstrap_servers: str,
    *,
    events_topic: str,
    commands_topic: str,
    wait_s: float,
    timeout_s: float,
) -> AsyncIterator[Publishing]:
    records = KafkaRecords(bootstrap_servers, timeout_s)
    notifications = OutcomeNotifications(
        database_url, WAITING_MAX, lambda ids: reads.get_outcomes(pool, ids)
    )
    await records.start()
    try:
        await notifications.start()
        try:
            yield Publishing(
                records,
                NotifiedOutcomes(pool, notifications, wait_s),
                events_topic,
                commands_topic,
                frozenset({events_topic, commands_topic}),
            )
        finally:
            await notifications.stop()
    finally:
        await records.stop()


def publishing_of(publishing: Publishing | None) -> Publishing:
    if publishing is None:
        raise Unavailable("this process publishes no records (no Kafka publisher configured)")
    return publishing
