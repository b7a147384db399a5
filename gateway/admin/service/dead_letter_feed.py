"""The console follows the dead-letter topic into Postgres (`dead_letters`), where the pages and
the admin API list, replay and discard letters (gateway.admin.service.dead_letters).

Why a copy in Postgres rather than reading Kafka on each page: a letter needs a status (new,
replayed, discarded) that Kafka cannot keep, a listing needs filters and pages over every letter
ever sent (the topic's retention may also drop old ones), and replaying or discarding must be
audited with the letter's state in one transaction.

The follower reads every partition itself (no consumer group: like the configuration feed, each
console reads the whole topic), in batches of at most `FETCH_RECORDS_MAX`. A batch's letters
and the next offsets are stored in one transaction, and the follower resumes from the stored
offsets: a letter read twice (a crash between fetch and commit, two consoles following at once)
collides on its position on the topic and is stored once."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from gateway.admin.service.dead_letter_rows import COLUMNS, LetterRecord, LetterRow, row_of
from runtime.kafka import partitions_of

log = logging.getLogger(__name__)
FETCH_RECORDS_MAX = 500
POLL_MS = 1_000
RETRY_BACKOFF_S = 5.0

_INSERT = (
    f"INSERT INTO dead_letters ({COLUMNS}) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (letter_topic, letter_partition, letter_offset) DO NOTHING"
)
# Two followers may store the same batch: the position only ever moves forward.
_OFFSET = """
    INSERT INTO dead_letter_offsets (topic, partition, next_offset) VALUES ($1, $2, $3)
    ON CONFLICT (topic, partition) DO UPDATE
    SET next_offset = greatest(dead_letter_offsets.next_offset, EXCLUDED.next_offset),
        updated_at = now()"""


async def store(
    pool: asyncpg.Pool, rows: Sequence[LetterRow], next_offsets: dict[TopicPartition, int]
) -> None:
    """The batch's letters and the follower's next offsets, together."""
    async with pool.acquire() as connection, connection.transaction():
        if rows:
            await connection.executemany(_INSERT, [row.values() for row in rows])
        await connection.executemany(
            _OFFSET, [(tp.topic, tp.partition, offset) for tp, offset in next_offsets.items()]
        )


async def stored_offsets(pool: asyncpg.Pool, topic: str) -> dict[int, int]:
    rows = await pool.fetch(
        "SELECT partition, next_offset FROM dead_letter_offsets WHERE topic = $1", topic
    )
    return {row["partition"]: row["next_offset"] for row in rows}


class DeadLetterFeed:
    def __init__(self, pool: asyncpg.Pool, bootstrap_servers: str, topic: str) -> None:
        self._pool = pool
        self._bootstrap_servers = bootstrap_servers
        self.topic = topic

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`; a failure (Kafka or Postgres away) is logged and the follower starts
        again from the stored offsets after a pause."""
        while not stop.is_set():
            try:
                await self._follow(stop, until_caught_up=False)
            except (KafkaError, LookupError, OSError, asyncpg.PostgresError) as exc:
                log.warning("dead-letter feed of %s stopped (%s); again in %s s",
                            self.topic, exc, RETRY_BACKOFF_S)  # fmt: skip
            except Exception:
                # Whatever it was, the feed must not end silently: said, and tried again.
                log.exception("dead-letter feed of %s failed; again in %s s",
                              self.topic, RETRY_BACKOFF_S)  # fmt: skip
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RETRY_BACKOFF_S):
                        await stop.wait()

    async def catch_up(self) -> int:
        """Store every letter up to the topic's end as of now; returns how many records were
        read (tests, and the deterministic entry point)."""
        return await self._follow(asyncio.Event(), until_caught_up=True)

    async def _follow(self, stop: asyncio.Event, *, until_caught_up: bool) -> int:
        partitions = await partitions_of(self._bootstrap_servers, self.topic)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        read = 0
        try:
            consumer.assign(partitions)
            stored = await stored_offsets(self._pool, self.topic)
            for tp in partitions:
                if tp.partition in stored:
                    consumer.seek(tp, stored[tp.partition])
                else:
                    await consumer.seek_to_beginning(tp)
            ends = await consumer.end_offsets(partitions) if until_caught_up else {}
            while not stop.is_set():
                read += await self._one_batch(consumer)
                if until_caught_up and await _reached(consumer, ends):
                    break
        finally:
            await consumer.stop()
        return read

    async def _one_batch(self, consumer: AIOKafkaConsumer) -> int:
        fetched = await consumer.getmany(timeout_ms=POLL_MS, max_records=FETCH_RECORDS_MAX)
        records = [record for batch in fetched.values() for record in batch]
        if not records:
            return 0
        rows = [
            row_of(LetterRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value))
            for r in records
        ]
        next_offsets = {tp: batch[-1].offset + 1 for tp, batch in fetched.items() if batch}
        await store(self._pool, rows, next_offsets)
        return len(records)


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    return all([await consumer.position(tp) >= end for tp, end in ends.items()])


@asynccontextmanager
async def following(feed: DeadLetterFeed | None) -> AsyncIterator[None]:
    """The feed as a background task for the console's lifetime (none when not configured)."""
    if feed is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop), name="dead-letter-feed")
    try:
        yield
    finally:
        stop.set()
        try:
            async with asyncio.timeout(POLL_MS / 1000 + 5):
                await task
        except TimeoutError:
            task.cancel()
