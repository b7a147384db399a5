"""The writer's retry loop rides out the database going away (issue 19's chaos run: a Postgres
restart of 9 s outlasted the 8 attempts, and a connection broken under a COPY raised asyncpg's
client-side state errors, which were not retried): a lost or refused connection is retried for
as long as DATABASE_AWAY_MAX_S, on a fresh connection; conflicts still get `attempts_max`."""

import time
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from asyncpg.exceptions import InternalClientError

from ledger.core.exceptions import RetriesExhaustedError
from ledger.db_types import Connection
from ledger.repository import with_retries
from ledger.writer import SeekToStoredOffsets

pytestmark = pytest.mark.integration


async def test_refused_connections_are_waited_out_past_the_attempts(
    ledger_pool: asyncpg.Pool,
) -> None:
    attempts: list[float] = []

    async def work(conn: Connection) -> int:
        attempts.append(time.monotonic())
        if len(attempts) <= 6:
            raise ConnectionRefusedError(111, "Connect call failed")
        return int(await conn.fetchval("SELECT 1"))

    assert await with_retries(ledger_pool, work, "test", 3, 0.01, None) == 1
    assert len(attempts) == 7


async def test_a_state_error_closes_the_connection_and_tries_a_fresh_one(
    ledger_pool: asyncpg.Pool,
) -> None:
    backends: list[int] = []

    async def work(conn: Connection) -> int:
        backends.append(int(await conn.fetchval("SELECT pg_backend_pid()")))
        if len(backends) == 1:
            await conn.execute("BEGIN")  # left open: the pool's reset would have to undo it
            raise InternalClientError("cannot switch to state 21; another operation is in progress")
        return len(backends)

    assert await with_retries(ledger_pool, work, "test", 3, 0.01, None) == 2
    assert backends[0] != backends[1]


async def test_a_connection_killed_under_a_statement_is_retried(ledger_pool: asyncpg.Pool) -> None:
    async def work(conn: Connection) -> str:
        if not killed:
            killed.append(True)
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return "booked"

    killed: list[bool] = []
    assert await with_retries(ledger_pool, work, "test", 2, 0.01, None) == "booked"


async def test_conflicts_still_stop_after_the_attempts(ledger_pool: asyncpg.Pool) -> None:
    attempts = 0

    async def work(conn: Connection) -> None:
        nonlocal attempts
        attempts += 1
        raise asyncpg.SerializationError("could not serialize access")

    with pytest.raises(RetriesExhaustedError):
        await with_retries(ledger_pool, work, "test", 3, 0.01, None)
    assert attempts == 3


async def test_an_assignment_reads_the_offsets_once_the_database_is_back(
    postgres_url: str,
) -> None:
    """A rebalance while Postgres restarted ended the writer: aiokafka raised the refused
    connection out of the assignment callback."""
    refused = 0

    async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        nonlocal refused
        if refused < 4:
            refused += 1
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        return await asyncpg.connect(*args, **kwargs)

    async with asyncpg.create_pool(postgres_url, min_size=0, max_size=1, connect=connect) as pool:
        consumer = AIOKafkaConsumer()  # never started: the listener only keeps it
        try:
            listener = SeekToStoredOffsets(consumer, pool, "a-group-with-nothing-stored")
            assert await listener.stored_offsets("ledger-commands.v1") == {}
        finally:
            await consumer.stop()
    assert refused == 4
