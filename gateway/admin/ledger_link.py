"""The imports' way to the ledger (`booking_import.LedgerPort`): commands go to the ledger
writer's topic, what it booked is read back through `ledger.reads`. Never around the writer."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Final

import asyncpg
from aiokafka import AIOKafkaProducer

from gateway.admin.import_rows import Command
from gateway.admin.resources import database, kafka
from ledger import reads
from schemas.ledger import CommandOutcome

SENDS_IN_FLIGHT_MAX: Final = 1_000
# Commands of many bookings are large (up to 512 KiB of JSON): compressed, a fraction of the bytes
# goes through the broker, on the same cores as the writer and Postgres. zstd, as the processors
# send theirs: aiokafka's lz4 is LZ4 HC (level 9), slower than zstd and compressing less
# (docs/decisions/0025-processors-send-record-batches-zstd.md).
COMPRESSION: Final = "zstd"
RECORD_BYTES_MAX: Final = 1024 * 1024


class LedgerLink:
    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, topic: str) -> None:
        self._pool = pool
        self._producer = producer
        self._topic = topic

    async def booked(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        step = reads.KEYS_PER_QUERY_MAX
        for start in range(0, len(keys), step):
            found.update(await reads.booked_keys(self._pool, keys[start : start + step]))
        return found

    async def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        return await reads.get_outcomes(self._pool, command_ids)

    async def stored(self, command_ids: Sequence[str]) -> dict[str, tuple[bytes, CommandOutcome]]:
        return await reads.stored_outcomes(self._pool, command_ids)

    async def publish(self, commands: Sequence[Command]) -> None:
        """Every command sent and acknowledged (idempotent producer, acks=all) on return."""
        for start in range(0, len(commands), SENDS_IN_FLIGHT_MAX):
            sent = [
                await self._producer.send(self._topic, value=command.value, key=command.key)
                for command in commands[start : start + SENDS_IN_FLIGHT_MAX]
            ]
            for delivery in sent:
                await delivery


@asynccontextmanager
async def ledger_link(
    database_url: str, bootstrap_servers: str, topic: str
) -> AsyncIterator[LedgerLink]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        compression_type=COMPRESSION,
        max_request_size=RECORD_BYTES_MAX,
        linger_ms=5,
    )
    async with database(database_url) as pool:
        with kafka(bootstrap_servers):
            await producer.start()
        try:
            yield LedgerLink(pool, producer, topic)
        finally:
            await producer.stop()
