"""Fixtures for the webhooks' integration tests: a pool on the session's real Postgres, a
loopback receiver and an HTTP client."""

from collections.abc import AsyncIterator, Iterator

import aiohttp
import asyncpg
import pytest

from tests.integration.webhooks.receiver import Receiver, receiver


@pytest.fixture(scope="module")
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres_url, min_size=2, max_size=6)
    yield pool
    await pool.close()


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    with receiver() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http
