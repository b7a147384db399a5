"""`python -m bench.import`: `loyalty-admin import-balances` of 1,000,000 balance rows, end to end.

Writes a CSV of `--rows` opening balances (one user each; a tenth with an expiry, a tenth with a
reason of their own), then runs the real ledger writer (`python -m ledger`, a process of its
own, as in production) on fresh topics and a fresh database (`loyalty_bench_import`), waits
for it to book a one-row import (its start and group join are not timed), and times
the import command's own code (`gateway.admin.import_balances.run`, in this process) from start
to its last row's outcome read back: file checks, parsing, the keys looked up, commands
published, booked by the writer and read back. Then it checks the ledger (every row booked
once, the sum of the balances) and times the same file again, which must book nothing.
Starts the local Kafka and Postgres if they are not running.
Ends with `RESULT import_rows_per_s=N` (rows of the first import per second, wall clock).
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Final

import asyncpg

from bench.ledger import fresh_topics
from deploy import db
from deploy.local import kafka, postgres
from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings
from gateway.admin import import_balances
from gateway.admin.programmes import load_file
from gateway.admin.resources import AdminSettings

DATABASE: Final = "loyalty_bench_import"
DEMO: Final = REPO / "deploy" / "programmes" / "demo.yaml"
WRITER_READY_S: Final = 60.0


def write_file(path: Path, rows: int, seed: int) -> int:
    """The CSV; returns the total of its points."""
    rng = random.Random(seed)
    expiry = (datetime.now(UTC) + timedelta(days=365)).date().isoformat()
    total = 0
    with path.open("w", encoding="utf-8") as file:
        file.write("user_id,points,expires_on,reason\n")
        for index in range(rows):
            points = rng.randint(1, 50_000)
            total += points
            day = expiry if index % 10 == 0 else ""
            reason = "Gold member balance" if index % 10 == 5 else ""
            file.write(f"user-{index:08d},{points},{day},{reason}\n")
    return total


def prepare_database(settings: LocalSettings) -> str:
    postgres.start(settings)
    postgres.wait_ready(settings)
    kafka.start(settings)
    kafka.wait_ready(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    return url


async def create_programme(url: str) -> str:
    programme_id = f"bench-{uuid.uuid4().hex[:8]}"
    config = load_file(DEMO).model_copy(update={"programme_id": programme_id})
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
               VALUES ($1, $1, 'unfunded', $2::jsonb, 1)""",
            programme_id,
            config.model_dump_json(),
        )
    finally:
        await conn.close()
    return programme_id


def start_writer(
    url: str, bootstrap: str, topic: str, dead_letters: str, profile: Path | None
) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LOYALTY_COMMANDS_TOPIC": topic,
        "LOYALTY_DEAD_LETTERS_TOPIC": dead_letters,
        "LOYALTY_CONSUMER_GROUP": f"bench-import-{uuid.uuid4().hex[:8]}",
        "LOYALTY_METRICS_PORT": "0",
    }
    profiled = [] if profile is None else ["-m", "cProfile", "-o", str(profile)]
    return subprocess.Popen([sys.executable, *profiled, "-m", "ledger"], env=env, cwd=REPO)


async def timed_import(
    settings: AdminSettings, path: Path, programme: str, topic: str
) -> tuple[float, str]:
    out = StringIO()
    started = time.perf_counter()
    with redirect_stdout(out):
        status = await import_balances.run(settings, path, programme, topic=topic, wait_s=120)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"the import refused rows (exit {status}): {out.getvalue()}")
    return elapsed, out.getvalue().strip()


async def run(args: argparse.Namespace) -> None:
    local = LocalSettings()
    url = await asyncio.to_thread(prepare_database, local)
    programme = await create_programme(url)
    bootstrap = local.kafka_bootstrap_servers
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "balances.csv"
        total = write_file(path, args.rows, seed=1)
        print(f"{path}: {args.rows} rows, {total} points, {path.stat().st_size >> 20} MiB")
        async with fresh_topics(bootstrap, local.kafka_partitions) as (topic, dead_letters):
            writer = start_writer(url, bootstrap, topic, dead_letters, args.profile_writer)
            try:
                settings = AdminSettings(kafka_bootstrap_servers=bootstrap, database_url=url)
                # One row first, untimed: the writer has started and joined its group.
                warmup = Path(directory) / "warmup.csv"
                warmup.write_text("user_id,points\nwarmup,1\n")
                warmup_s, _ = await timed_import(
                    settings, warmup, await create_programme(url), topic
                )
                print(f"warm-up: the writer answered after {warmup_s:.1f} s")
                first_s, first = await timed_import(settings, path, programme, topic)
                print(f"first import: {first_s:.1f} s: {first}")
                again_s, again = await timed_import(settings, path, programme, topic)
                print(f"again: {again_s:.1f} s: {again}")
            finally:
                writer.terminate()
                writer.wait(timeout=30)
    await verify(url, programme, args.rows, total)
    if f"0 rows booked (0 points), {args.rows} already booked" not in again:
        raise RuntimeError(f"the second import booked something: {again}")
    print(f"RESULT import_rows_per_s={args.rows / first_s:.0f}")


async def verify(url: str, programme: str, rows: int, total: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        counted = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(points), 0) FROM ledger.entries WHERE programme_id = $1",
            programme,
        )
        assert counted is not None
        entries, points = counted
        balances = await conn.fetchval(
            """SELECT coalesce(sum(balance), 0) FROM ledger.accounts
               WHERE programme_id = $1 AND kind = 'user'""",
            programme,
        )
    finally:
        await conn.close()
    print(f"ledger: {entries} entries, {points} points; users' balances sum to {balances}")
    if (entries, points, balances) != (rows, total, total):
        raise RuntimeError(f"expected {rows} entries of {total} points in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--profile-writer", type=Path, help="Run the writer under cProfile, its stats to this file."
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
