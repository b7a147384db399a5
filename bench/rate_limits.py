"""`python -m bench.rate_limits`: what the shared partner rate limit costs a request.

Against the real Postgres (a fresh database, migrated), through the gateway's own classes
(gateway.rate_limits over gateway.rate_windows), in one process:
- a fast partner (1,000,000 a minute): `--checks` checks in a row; nearly all are served from
  the slots this instance reserved, so this is the in-process cost, with the few reservations
  (one per 50,000 checks at most) included;
- a 30-a-minute partner's worst case: every admitted request reserves its one slot, so each
  costs one `reserve_partner_rate` statement; `--reservations` of them in a row (a limit high
  enough that none is refused, one slot asked each), their round trip's p50 and p99 and this
  process's CPU per statement.
Starts the local Postgres if it is not running. Ends with
`RESULT local_check_us=N reservations_per_100k=R reserve_p50_ms=P reserve_p99_ms=Q
reserve_cpu_us=C`.
"""

import argparse
import asyncio
import time
import uuid

import asyncpg

from deploy import db
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from gateway.rate_limits import PartnerRateLimits, Reservation
from gateway.rate_windows import PostgresRateWindows

DATABASE = "loyalty_bench_rate_limits"
FAST_PER_MINUTE = 1_000_000


class Counted:
    """The store, counting its reservations."""

    def __init__(self, windows: PostgresRateWindows) -> None:
        self.windows = windows
        self.reservations = 0

    async def reserve(
        self, programme_id: str, partner_id: str, limit: int, wanted: int, window_s: float
    ) -> Reservation:
        self.reservations += 1
        return await self.windows.reserve(programme_id, partner_id, limit, wanted, window_s)


async def local_checks(pool: asyncpg.Pool, checks: int) -> tuple[float, int]:
    """(µs per check, reservations) for a fast partner."""
    store = Counted(PostgresRateWindows(pool, 5.0))
    limits = PartnerRateLimits(store)
    partner = f"fast-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    for _ in range(checks):
        await limits.check("bench", partner, FAST_PER_MINUTE)
    return (time.perf_counter() - started) / checks * 1e6, store.reservations


async def reservations(pool: asyncpg.Pool, count: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, CPU µs of this process) per one-slot reservation."""
    windows = PostgresRateWindows(pool, 5.0)
    partner = f"slow-{uuid.uuid4().hex[:8]}"
    latencies = []
    cpu_before = time.process_time()
    for _ in range(count):
        sent = time.perf_counter()
        reservation = await windows.reserve("bench", partner, 10 * count, 1, 60.0)
        latencies.append(time.perf_counter() - sent)
        if reservation.slots != 1:
            raise RuntimeError(f"a reservation was refused: {reservation}")
    cpu_us = (time.process_time() - cpu_before) / count * 1e6
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2] * 1e3, ordered[int(len(ordered) * 0.99) - 1] * 1e3, cpu_us


async def run(url: str, arguments: argparse.Namespace) -> str:
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        await reservations(pool, 200)  # warm: connections, the plpgsql function's plan
        local_us, reserved = await local_checks(pool, arguments.checks)
        print(f"fast partner: {local_us:.2f} µs per check, {reserved} reservations", flush=True)
        p50, p99, cpu_us = await reservations(pool, arguments.reservations)
        print(f"one slot per request: p50 {p50:.3f} ms, p99 {p99:.3f} ms, {cpu_us:.0f} µs CPU")
    per_100k = reserved * 100_000 / arguments.checks
    return (
        f"RESULT local_check_us={local_us:.2f} reservations_per_100k={per_100k:.0f}"
        f" reserve_p50_ms={p50:.3f} reserve_p99_ms={p99:.3f} reserve_cpu_us={cpu_us:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rate_limits", description=__doc__)
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--reservations", type=int, default=5_000)
    arguments = parser.parse_args()
    settings = LocalSettings()
    started = postgres.start(settings)
    try:
        postgres.wait_ready(settings)
        postgres.drop_database(settings, DATABASE)
        postgres.ensure_database(settings, DATABASE)
        url = settings.database_url(DATABASE)
        db.migrate(url)
        print(asyncio.run(run(url, arguments)))
    finally:
        postgres.drop_database(settings, DATABASE)
        if started:
            postgres.stop()


if __name__ == "__main__":
    main()
