"""`python -m bench.ledger`: the ledger writer's sustained bookings per second, Kafka to Postgres.

Preloads commands (one booking each) into a fresh topic, then times the real writer from its
first batch until the topic is drained. In the same run it COPYs the very same rows (outcome,
journal entry, posting) into tables with no index, trigger or constraint: the ratio of the two
figures is what the guarantees cost (idempotency, row locks, balances, offsets in the same
transaction). Starts the local Kafka and Postgres if they are not running. Ends with
`RESULT bookings_per_s=N copy_rows_per_s=M`.
"""

import argparse
import asyncio
import random
import time
import uuid

import asyncpg

from deploy import db
from deploy.local import kafka, postgres
from deploy.local.settings import LocalSettings
from ledger.core.batch import IncomingCommand
from ledger.writer import open_writer
from schemas.ledger import Booking, LedgerCommand, TransactionType, Variety
from tests.integration.ledger.kafka_helpers import produce, writer_settings

DATABASE = "loyalty_bench"
COPIED_TABLES = ("command_outcomes", "entries", "postings")


def commands(programme_id: str, count: int, users: int, seed: int) -> list[IncomingCommand]:
    """Mostly awards, a fifth debits (some refused for want of points), like a live programme."""
    rng = random.Random(seed)
    result = []
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
        command = LedgerCommand(
            command_id=key,
            programme_id=programme_id,
            user_id=f"user-{rng.randrange(users)}",
            source_event_id=key,
            bookings=[booking],
            explanation={"matched": ["rule-1"]},
        )
        result.append(IncomingCommand.of(command))
    return result


def start_services(settings: LocalSettings) -> str:
    postgres.start(settings)
    postgres.wait_ready(settings)
    kafka.start(settings)
    kafka.wait_ready(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    return url


async def time_writer(bootstrap: str, url: str, count: int, batch_max_records: int) -> float:
    programme_id = f"bench-{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
           VALUES ($1, $1, 'unfunded', '{}'::jsonb, 1)""",
        programme_id,
    )
    await pool.close()
    settings = await writer_settings(bootstrap, url, batch_max_records=batch_max_records)
    preload = commands(programme_id, count, users=20_000, seed=1)
    produced = await produce(bootstrap, settings.commands_topic, preload)
    print(f"preloaded {produced} commands into {settings.commands_topic}")
    async with open_writer(settings) as writer:
        await writer.wait_for_assignment(deadline_s=60)
        started = time.perf_counter()
        processed = await writer.process_until_drained(deadline_s=600)
        elapsed = time.perf_counter() - started
    if processed != count:
        raise RuntimeError(f"the writer processed {processed} records, expected {count}")
    return elapsed


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


async def run(count: int, batch_max_records: int) -> None:
    local = LocalSettings()
    url = await asyncio.to_thread(start_services, local)
    writer_s = await time_writer(local.kafka_bootstrap_servers, url, count, batch_max_records)
    conn = await asyncpg.connect(url)
    bookings = int(await conn.fetchval("SELECT count(*) FROM ledger.entries"))
    await conn.close()
    copied, copy_s = await time_copy(url)
    print(f"writer: {count} commands, {bookings} bookings in {writer_s:.2f} s")
    print(f"copy: {copied} bookings (outcome + entry + posting rows) in {copy_s:.2f} s")
    print(f"RESULT bookings_per_s={bookings / writer_s:.0f} copy_rows_per_s={copied / copy_s:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--batch-max-records", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(run(args.commands, args.batch_max_records))


if __name__ == "__main__":
    main()
