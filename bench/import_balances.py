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
Also prints the CPU seconds the first import took in each process (this one, the writer and the
bench database's Postgres backends): on a shared machine the wall clock measures the load as
much as the code, the CPU time much less so.
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
from contextlib import redirect_stdout, suppress
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


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of a process of this machine (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendsCpu:
    """CPU seconds of the bench database's Postgres backends, sampled every `SAMPLE_S` while a
    run lasts (the import's own connections close with it; a backend's last half second before
    it closes is missed)."""

    SAMPLE_S: Final = 0.5

    def __init__(self, url: str) -> None:
        self._url = url
        self._before: dict[int, float] = {}
        self._seen: dict[int, float] = {}

    async def sample_before(self) -> None:
        """What the backends open already (the writer's) have used before the run."""
        conn = await asyncpg.connect(self._url)
        try:
            await self.sample(conn)
        finally:
            await conn.close()
        self._before, self._seen = self._seen, {}

    async def sample(self, conn: asyncpg.Connection) -> None:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            DATABASE,
        )
        for (pid,) in pids:
            self._seen[pid] = max(self._seen.get(pid, 0.0), cpu_s(pid))

    async def watch(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            while not stop.is_set():
                await self.sample(conn)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.SAMPLE_S)
            await self.sample(conn)
        finally:
            await conn.close()

    def total(self) -> float:
        return sum(cpu - self._before.get(pid, 0.0) for pid, cpu in self._seen.items())


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
                backends = BackendsCpu(url)
                await backends.sample_before()
                stop = asyncio.Event()
                watching = asyncio.create_task(backends.watch(stop))
                own, writer_cpu = time.process_time(), cpu_s(writer.pid)
                first_s, first = await timed_import(settings, path, programme, topic)
                own, writer_cpu = time.process_time() - own, cpu_s(writer.pid) - writer_cpu
                stop.set()
                await watching
                print(f"first import: {first_s:.1f} s: {first}")
                print(
                    f"first import's CPU: import command {own:.1f} s, writer {writer_cpu:.1f} s, "
                    f"Postgres backends {backends.total():.1f} s"
                )
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
