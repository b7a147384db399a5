"""The gateway's LISTEN connection for outcomes, on the real Postgres: it comes back after the
server drops it, and stays closed once the gateway stops (asyncpg calls the termination
listener on a close too, and the listener used to reconnect a second after every stop)."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway.publishing import outcomes
from gateway.publishing.outcomes import OutcomeNotifications
from schemas.ledger import CommandOutcome

pytestmark = pytest.mark.integration

BACKOFF_S = 0.05


async def nothing_read(_ids: list[str]) -> dict[str, CommandOutcome]:
    return {}


async def listening_within(notifications: OutcomeNotifications, wait_s: float) -> bool:
    for _ in range(int(wait_s / BACKOFF_S)):
        if notifications.listening:
            return True
        await asyncio.sleep(BACKOFF_S)
    return notifications.listening


@pytest.fixture
async def notifications(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[OutcomeNotifications]:
    monkeypatch.setattr(outcomes, "RECONNECT_BACKOFF_S", BACKOFF_S)
    started = OutcomeNotifications(postgres_url, 10, nothing_read)
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def test_the_listener_comes_back_after_the_server_drops_it(
    notifications: OutcomeNotifications, postgres_url: str
) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        listener_pid = notifications._connection.get_server_pid()  # type: ignore[union-attr]
        await connection.execute("SELECT pg_terminate_backend($1)", listener_pid)
    finally:
        await connection.close()
    assert await listening_within(notifications, 5.0)


async def test_a_stopped_listener_stays_closed(notifications: OutcomeNotifications) -> None:
    await notifications.stop()
    assert not await listening_within(notifications, 20 * BACKOFF_S)
