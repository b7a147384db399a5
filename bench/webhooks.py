"""`python -m bench.webhooks`: webhook deliveries per second through `loyalty-webhooks`, as a
process, on the real Postgres (started if it is not running), against a receiver that answers
at once (`bench.webhook_receiver`, uvicorn).

`--deliveries` outcomes are inserted in one statement on a fresh database; the outbox trigger
makes each a delivery, as it does for the ledger writer's, and its NOTIFY wakes the process,
started beforehand and idle. The figure is the deliveries over the time until the last one is
delivered. With `--slow-every K`, every K-th delivery goes to a subscription whose endpoint
answers after `--slow-s`: `fast_done_s` says when the others were all delivered. Meanwhile the
process's sessions in pg_stat_activity are sampled every 5 ms for the longest open transaction
seen. `--service-env NAME=VALUE` passes a setting to the process (`LOYALTY_WEBHOOK_BATCH_MAX=200`).
Ends with `RESULT deliveries_per_s=N fast_done_s=S longest_transaction_ms=M`.
"""

import argparse
import asyncio
import sys
import time
import urllib.error
import urllib.request
import uuid

import asyncpg

from deploy import db
from deploy.local import postgres, processes, services
from deploy.local.paths import REPO
from deploy.local.ports import free_port
from deploy.local.settings import LocalSettings
from gateway.webhooks import subscriptions

PREFIX = "bench-webhooks-"
DATABASE = "loyalty_bench_webhooks"
SAMPLE_S = 0.005
DEADLINE_S = 600.0


def wait_for(url: str, name: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.ensure_running(name)
        try:
            with urllib.request.urlopen(url, timeout=1.0):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise TimeoutError(f"{name} not answering {url} after {timeout_s}s")


async def subscribe(url: str, receiver: str) -> tuple[str, str]:
    """A fast and a slow programme, each subscribed to its path of the receiver."""
    ids = []
    async with asyncpg.create_pool(url, min_size=1, max_size=2) as pool:
        for path in ("ok", "slow"):
            programme_id = f"bench-{path}-{uuid.uuid4().hex[:6]}"
            await pool.execute(
                """INSERT INTO programmes (programme_id, name, config, config_version)
                   VALUES ($1, $1, '{}'::jsonb, 1)""",
                programme_id,
            )
            await subscriptions.create(
                pool, programme_id, programme_id, f"{receiver}/{path}", ["points.awarded"]
            )
            ids.append(programme_id)
    return ids[0], ids[1]


async def measure(
    url: str, fast: str, slow: str, deliveries: int, slow_every: int
) -> tuple[float, float, float]:
    """(seconds until all delivered, until the fast ones were, longest transaction seen)."""
    connection = await asyncpg.connect(url)
    sampler = await asyncpg.connect(url)
    try:
        longest = [0.0]
        sampling = asyncio.create_task(_sample_transactions(sampler, longest))
        started = time.monotonic()
        await connection.execute(
            """INSERT INTO ledger.command_outcomes
                   (command_id, payload_sha256, programme_id, user_id, status, points,
                    balance_after, source_event_id)
               SELECT 'bench-' || i, decode(repeat('00', 32), 'hex'),
                      CASE WHEN $2 > 0 AND i % $2 = 0 THEN $4 ELSE $3 END,
                      'user-' || i, 'booked', 10, 10, 'bench-' || i
               FROM generate_series(1, $1) AS i""",
            deliveries,
            slow_every,
            fast,
            slow,
        )
        fast_done_s = None
        while time.monotonic() - started < DEADLINE_S:
            waiting = await connection.fetch(
                """SELECT s.programme_id, count(*) AS n FROM webhook_deliveries d
                   JOIN webhook_subscriptions s USING (subscription_id)
                   WHERE d.status <> 'delivered' GROUP BY 1"""
            )
            counts = {row["programme_id"]: row["n"] for row in waiting}
            if fast_done_s is None and not counts.get(fast):
                fast_done_s = time.monotonic() - started
            if not counts:
                break
            await asyncio.sleep(0.02)
        else:
            raise TimeoutError(f"not all delivered after {DEADLINE_S}s")
        elapsed_s = time.monotonic() - started
        sampling.cancel()
        return elapsed_s, fast_done_s or elapsed_s, longest[0]
    finally:
        await connection.close()
        await sampler.close()


async def _sample_transactions(sampler: asyncpg.Connection, longest: list[float]) -> None:
    while True:
        age = await sampler.fetchval(
            """SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)
               FROM pg_stat_activity
               WHERE application_name = 'loyalty-webhooks' AND datname = current_database()"""
        )
        longest[0] = max(longest[0], float(age))
        await asyncio.sleep(SAMPLE_S)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--slow-every", type=int, default=0, metavar="K")
    parser.add_argument("--slow-s", type=float, default=2.0)
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE")
    arguments = parser.parse_args()
    settings = LocalSettings().model_copy(update={"webhooks_metrics_port": free_port()})
    postgres_started = postgres.start(settings)
    postgres.wait_ready(settings)
    postgres.drop_database(settings, DATABASE)
    postgres.ensure_database(settings, DATABASE)
    url = settings.database_url(DATABASE)
    db.migrate(url)
    receiver_port = free_port()
    try:
        processes.start(
            f"{PREFIX}receiver",
            [
                sys.executable,
                "-m",
                "bench.webhook_receiver",
                str(receiver_port),
                str(arguments.slow_s),
            ],
            cwd=REPO,
        )
        receiver = f"http://127.0.0.1:{receiver_port}"
        wait_for(f"{receiver}/ok", f"{PREFIX}receiver")
        fast, slow = asyncio.run(subscribe(url, receiver))
        env = services.environment(settings, "webhooks", DATABASE)
        env |= dict(setting.split("=", 1) for setting in arguments.service_env)
        processes.start(f"{PREFIX}webhooks", services.command("webhooks"), env=env, cwd=REPO)
        wait_for(f"http://127.0.0.1:{settings.webhooks_metrics_port}/", f"{PREFIX}webhooks")
        elapsed_s, fast_done_s, longest_s = asyncio.run(
            measure(url, fast, slow, arguments.deliveries, arguments.slow_every)
        )
    finally:
        processes.stop(f"{PREFIX}webhooks")
        processes.stop(f"{PREFIX}receiver")
        if postgres_started:
            postgres.stop()
    rate = arguments.deliveries / elapsed_s
    print(
        f"{arguments.deliveries} deliveries in {elapsed_s:.2f} s, "
        f"the fast ones in {fast_done_s:.2f} s"
    )
    print(
        f"RESULT deliveries_per_s={rate:.0f} fast_done_s={fast_done_s:.2f} "
        f"longest_transaction_ms={longest_s * 1000:.1f}"
    )


if __name__ == "__main__":
    main()
