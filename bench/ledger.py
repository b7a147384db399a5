"""`python -m bench.ledger`: the ledger writer's sustained bookings per second, Kafka to Postgres.

Preloads commands (one booking each) into a fresh topic, then runs the real writer (with the
runtime settings of `python -m ledger`) until the topic is drained. The rate is the steady state:
the clock starts when the first `--warmup-commands` are committed (connections, caches and the
first account creations are behind it) and stops at the last commit. In the same run it COPYs
the very same rows (outcome, journal entry) into tables with no index, trigger or constraint:
the ratio of the two figures is what the guarantees cost (idempotency, row locks, balances,
offsets in the same transaction). Starts the local Kafka and Postgres if they are not running.
`--source-events`: each command carries its source event, as the processors' commands do, so
the writer also archives it (ledger.decided_events); without, the archive costs nothing.
Ends with `RESULT bookings_per_s=N copy_rows_per_s=M`.
"""

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from deploy import db
from deploy.kafka_tools import create_topics, delete_topics_of
from deploy.local import kafka, postgres
from deploy.local.settings import LocalSettings
from ledger.runtime import GC_THRESHOLDS
from ledger.settings import LedgerSettings
from ledger.writer import BatchReport, open_writer
from runtime.collector import tune_garbage_collector
from runtime.kafka import produce
from schemas.events import EventV1
from schemas.ledger import Booking, LedgerCommand, TransactionType, Variety
from schemas.topics import user_key

# Its own database, dropped at the start: LOYALTY_BENCH_DATABASE keeps two developers' runs apart.
DATABASE = os.environ.get("LOYALTY_BENCH_DATABASE", "loyalty_bench")
COPIED_TABLES = ("command_outcomes", "entries")
MEASURED_COMMANDS_MIN = 50_000


@asynccontextmanager
async def fresh_topics(bootstrap: str, partitions: int) -> AsyncIterator[tuple[str, str]]:
    """(commands topic, dead-letters topic), new for this run (no earlier run's records count)
    and deleted after it."""
    suffix = uuid.uuid4().hex[:10]
    commands, dead_letters = f"bench-ledger-commands-{suffix}", f"bench-dead-letters-{suffix}"
    await create_topics(bootstrap, {commands: partitions, dead_letters: 1})
    try:
        yield commands, dead_letters
    finally:
        await delete_topics_of(bootstrap, suffix)


def commands(
    programme_id: str, count: int, users: int, seed: int, *, source_events: bool = False
) -> Iterator[tuple[bytes, bytes]]:
    """Mostly awards, a fifth debits (some refused for want of points), like a live programme;
    as (key, value) records, encoded the way the processors encode them; with `source_events`,
    each carries a purchase event of the last 30 days (two months' partitions)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for index in range(count):
        debit = rng.random() < 0.2
        key = f"{programme_id}-{index}"
        booking = Booking(
            idempotency_key=f"{key}:rule-1",
            transaction_type=TransactionType.DEBIT if debit else TransactionType.CREDIT,
            variety=Variety.REDEMPTION if debit else Variety.PROGRAMME_POINTS,
            points=rng.randint(1, 100),
            reason="bench",
        )
        user_id = f"user-{rng.randrange(users)}"
        event = None
        if source_events:
            event = EventV1(
                event_id=key,
                programme_id=programme_id,
                user_id=user_id,
                event_type="purchase",
                occurred_at=now - timedelta(seconds=rng.randrange(30 * 86_400)),
                partner_id="bench-partner",
                reference_id=f"order-{index}",
                metadata={"reference_id": f"order-{index}", "amount": 150.0, "currency": "GHS"},
            )
        command = LedgerCommand(
            command_id=key,
            programme_id=programme_id,
            user_id=user_id,
            source_event_id=key,
            bookings=[booking],
            explanation={"matched": ["rule-1"]},
            source_event=event,
        )
        yield user_key(programme_id, command.user_id), command.model_dump_json().encode()


def start_services(settings: LocalSettings) -> str:
    """Through deploy.local, as `./dev up` does; a running server is left as it is."""
    postgres.start(settings)
    postgres.wait_ready(settings)
    kafka.start(settings)
    kafka.wait_ready(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    return url


@dataclass
class Clock:
    """Commits seen by the writer; the steady state starts once `warmup_commands` are in."""

    warmup_commands: int
    commands: int = 0
    bookings: int = 0
    marks: list[tuple[float, int, int]] = field(default_factory=list)

    def on_batch(self, report: BatchReport) -> None:
        self.commands += report.records
        self.bookings += report.bookings
        self.marks.append((time.perf_counter(), self.commands, self.bookings))

    def steady(self) -> tuple[int, int, float]:
        """(commands, bookings, seconds) from the end of the warm-up to the last commit."""
        start = next(mark for mark in self.marks if mark[1] >= self.warmup_commands)
        end = self.marks[-1]
        return end[1] - start[1], end[2] - start[2], end[0] - start[0]


async def create_programme(url: str) -> str:
    programme_id = f"bench-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
               VALUES ($1, $1, 'unfunded', '{}'::jsonb, 1)""",
            programme_id,
        )
    finally:
        await conn.close()
    return programme_id


async def time_writer(
    local: LocalSettings, url: str, count: int, args: argparse.Namespace
) -> Clock:
    bootstrap = local.kafka_bootstrap_servers
    programme_id = await create_programme(url)
    async with fresh_topics(bootstrap, local.kafka_partitions) as (topic, dead_letters):
        produced = await produce(
            bootstrap,
            topic,
            commands(programme_id, count, 20_000, 1, source_events=args.source_events),
        )
        print(f"preloaded {produced} commands into {topic}")
        settings = LedgerSettings(
            kafka_bootstrap_servers=bootstrap,
            database_url=url,
            consumer_group=f"bench-{programme_id}",
            commands_topic=topic,
            dead_letters_topic=dead_letters,
            batch_max_records=args.batch_max_records,
        )
        clock = Clock(args.warmup_commands)
        async with open_writer(settings) as writer:
            tune_garbage_collector(GC_THRESHOLDS)
            await writer.wait_for_assignment(deadline_s=60)
            processed = await writer.process_until_drained(deadline_s=600, on_batch=clock.on_batch)
        if processed != count:
            raise RuntimeError(f"the writer processed {processed} records, expected {count}")
        return clock


async def time_copy(url: str) -> tuple[int, float]:
    """COPY the rows the writer wrote into bare tables; returns (bookings, seconds)."""
    conn = await asyncpg.connect(url)
    try:
        rows: dict[str, list[tuple[object, ...]]] = {}
        for table in COPIED_TABLES:
            await conn.execute(f"CREATE TABLE bench_{table} (LIKE ledger.{table})")
            records = await conn.fetch(f"SELECT * FROM ledger.{table}")
            rows[table] = [tuple(record.values()) for record in records]
        started = time.perf_counter()
        async with conn.transaction():
            for table in COPIED_TABLES:
                await conn.copy_records_to_table(f"bench_{table}", records=rows[table])
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return len(rows["entries"]), elapsed


async def run(args: argparse.Namespace) -> None:
    local = LocalSettings()
    url = await asyncio.to_thread(start_services, local)
    count = args.warmup_commands + args.measured_commands
    clock = await time_writer(local, url, count, args)
    measured, bookings, seconds = clock.steady()
    copied, copy_s = await time_copy(url)
    batches = len(clock.marks)
    print(f"writer: {clock.commands} commands, {clock.bookings} bookings in {batches} batches")
    print(f"steady state: {measured} commands, {bookings} bookings in {seconds:.2f} s")
    print(f"copy: {copied} bookings (outcome + entry rows) in {copy_s:.2f} s")
    print(f"RESULT bookings_per_s={bookings / seconds:.0f} copy_rows_per_s={copied / copy_s:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--warmup-commands", type=int, default=20_000)
    parser.add_argument("--measured-commands", type=int, default=100_000)
    parser.add_argument("--batch-max-records", type=int, default=5_000)
    parser.add_argument(
        "--source-events", action="store_true", help="commands carry their events (archived)"
    )
    args = parser.parse_args()
    if args.measured_commands < MEASURED_COMMANDS_MIN:
        parser.error(f"--measured-commands must be at least {MEASURED_COMMANDS_MIN}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
