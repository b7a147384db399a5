"""The writer's retry loop rides out the database going away (issue 19's chaos run: a Postgres
restart of 9 s outlasted the 8 attempts, and a connection broken under a COPY raised asyncpg's
client-side state errors, which were not retried): a lost or refused connection is retried for
as long as DATABASE_AWAY_MAX_S, on a fresh connection; conflicts still get `attempts_max`.

A writer started while the database is away waits for it (the chaos run's writer, started again
a second before Postgres restarted, exited: its programme-state reader's pool connected at its
creation and raised "the database system is starting up"). The database comes up late through a
forwarder to the real Postgres that listens only after a delay."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from asyncpg.exceptions import InternalClientError

from deploy.local.ports import free_port
from ledger import programme_state
from ledger.core.exceptions import RetriesExhaustedError
from ledger.db_types import Connection
from ledger.programme_state import StateReading
from ledger.repository import create_pool_when_up, with_retries
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


@contextlib.asynccontextmanager
async def database_up_after(postgres_url: str, delay_s: float) -> AsyncIterator[str]:
    """A URL for the real database through a port that refuses connections for `delay_s` and
    then forwards them (the database restarting, as a client sees it)."""
    real = urlsplit(postgres_url)
    port = free_port()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(real.hostname, real.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def listen_later() -> asyncio.Server:
        await asyncio.sleep(delay_s)
        return await asyncio.start_server(forward, "127.0.0.1", port)

    listening = asyncio.create_task(listen_later())
    netloc = real.netloc.rsplit(":", 1)[0] + f":{port}"
    try:
        yield urlunsplit(real._replace(netloc=netloc))
    finally:
        if listening.done() and not listening.cancelled():
            server = listening.result()
            server.close()
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)


async def test_the_writers_pool_is_made_once_the_database_answers(postgres_url: str) -> None:
    async with database_up_after(postgres_url, delay_s=1.5) as late_url:
        started = time.monotonic()
        pool = await create_pool_when_up(late_url, min_size=1, max_size=1)
        try:
            assert await pool.fetchval("SELECT 1") == 1
        finally:
            await pool.close()
        assert time.monotonic() - started >= 1.5


async def test_the_writers_pool_gives_up_after_the_bound(postgres_url: str) -> None:
    async with database_up_after(postgres_url, delay_s=60) as late_url:
        started = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            await create_pool_when_up(late_url, away_max_s=1.0, min_size=1, max_size=1)
        assert time.monotonic() - started < 10


async def test_the_state_reader_outlives_a_database_not_up_when_it_starts(
    postgres_url: str,
) -> None:
    """Readings fail (None) while the database is away, then succeed; the task runs on."""
    published: list[StateReading | None] = []
    stop = asyncio.Event()
    async with database_up_after(postgres_url, delay_s=1.5) as late_url:
        refresh = asyncio.create_task(
            programme_state.refresh(late_url, 0.1, published.append, stop)
        )
        deadline = time.monotonic() + 30
        while not any(isinstance(r, StateReading) for r in published):
            assert not refresh.done(), refresh.exception()
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(refresh, 10)
    assert published[0] is None
