"""`loyalty-webhooks` as a process on the real Postgres: it serves its metrics on its own port,
holds no transaction open while it posts, finishes the post in flight when it is told to stop,
and when it is killed mid-send its claims are taken by another dispatcher once their lease runs
out."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import pytest

from deploy.local.ports import free_port
from gateway.webhooks.dispatcher import Dispatcher
from tests.integration.webhooks.fixtures import FAST, deliveries, outcome, subscribe
from tests.integration.webhooks.receiver import Receiver, receiver

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


class Process:
    def __init__(self, postgres_url: str, log: Path) -> None:
        self.metrics_port = free_port()
        env = os.environ | {
            "LOYALTY_DATABASE_URL": postgres_url,
            "LOYALTY_METRICS_PORT": str(self.metrics_port),
            "LOYALTY_WEBHOOK_POLL_S": "0.2",
        }
        self.log = log
        with log.open("wb") as output:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "gateway.webhooks"],
                env=env,
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    async def metrics(self) -> str:
        """Its /metrics, once it answers (it serves them before it connects to Postgres)."""
        async with httpx.AsyncClient() as client, asyncio.timeout(20):
            while True:
                assert self.popen.poll() is None, self.log.read_text()
                try:
                    return (await client.get(f"http://127.0.0.1:{self.metrics_port}/")).text
                except httpx.TransportError:
                    await asyncio.sleep(0.1)


@pytest.fixture
def process(postgres_url: str, tmp_path: Path) -> Iterator[Process]:
    started = Process(postgres_url, tmp_path / "webhooks.log")
    yield started
    if started.popen.poll() is None:
        started.popen.kill()
    started.popen.wait(timeout=10)


@pytest.fixture
def slow_endpoint() -> Iterator[Receiver]:
    with receiver(slow_s=1.5) as server:
        yield server


async def posted(endpoint: Receiver, programme_id: str, pool: asyncpg.Pool) -> asyncpg.Record:
    """The programme's one delivery, once its post has reached the receiver."""
    async with asyncio.timeout(20):
        while not endpoint.ids("/slow"):  # noqa: ASYNC110 (the receiver runs in a thread)
            await asyncio.sleep(0.02)
    (row,) = await deliveries(pool, programme_id)
    return row


async def test_stopped_by_sigterm_it_finishes_the_post_in_flight(
    process: Process, pool: asyncpg.Pool, slow_endpoint: Receiver
) -> None:
    exported = await process.metrics()
    assert 'loyalty_webhooks_attempts_total{result="delivered"}' in exported
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    await outcome(pool, programme_id, 10)
    in_flight = await posted(slow_endpoint, programme_id, pool)
    assert in_flight["claimed_by"].split("/")[1] == str(process.popen.pid)
    sessions = await pool.fetch(
        """SELECT state, xact_start FROM pg_stat_activity
           WHERE application_name = 'loyalty-webhooks' AND datname = current_database()"""
    )
    assert len(sessions) >= 2, "its pool and its listener"
    assert [s for s in sessions if s["xact_start"] is not None] == [], "no transaction open"

    process.popen.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.popen.wait, 15) == 0, process.log.read_text()
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 1, None)
    assert "webhooks stopped" in process.log.read_text()


async def test_killed_mid_send_its_claims_are_taken_when_the_lease_runs_out(
    process: Process, pool: asyncpg.Pool, slow_endpoint: Receiver, client: aiohttp.ClientSession
) -> None:
    await process.metrics()
    programme_id, _ = await subscribe(pool, slow_endpoint.url("/slow"))
    await outcome(pool, programme_id, 10)
    in_flight = await posted(slow_endpoint, programme_id, pool)
    process.popen.kill()
    process.popen.wait(timeout=10)
    # The default lease: 30 s from the claim.
    assert in_flight["claimed_until"] > datetime.now(UTC) + timedelta(seconds=20)

    survivor = Dispatcher(pool, client, FAST)
    while await survivor.deliver_due():
        pass
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["claimed_by"]) == ("pending", in_flight["claimed_by"])

    await pool.execute(  # thirty seconds later
        "UPDATE webhook_deliveries SET claimed_until = now() - interval '1 second' "
        "WHERE delivery_id = $1",
        row["delivery_id"],
    )
    while await survivor.deliver_due():
        pass
    (row,) = await deliveries(pool, programme_id)
    assert (row["status"], row["attempts"], row["claimed_by"]) == ("delivered", 1, None)
    assert slow_endpoint.ids("/slow") == [f"whd_{row['delivery_id']}"] * 2  # at least once
