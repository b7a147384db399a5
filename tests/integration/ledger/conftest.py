"""Fixtures for the ledger's integration tests: a pool on the session's real Postgres, and
programmes with fresh ids, so tests never see each other's accounts."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

ProgrammeFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
async def ledger_pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def create_programme(
    db: asyncpg.Pool | asyncpg.Connection, *, funded: bool = False, closure_returns: bool = False
) -> str:
    programme_id = f"p-{uuid.uuid4().hex[:12]}"
    config = '{"account_closure_returns_to_budget": true}' if closure_returns else "{}"
    await db.execute(
        """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
           VALUES ($1, $1, $2, $3::jsonb, 1)""",
        programme_id,
        "funded" if funded else "unfunded",
        config,
    )
    return programme_id


@pytest.fixture
def new_programme(ledger_pool: asyncpg.Pool) -> ProgrammeFactory:
    async def factory(*, funded: bool = False, closure_returns: bool = False) -> str:
        return await create_programme(ledger_pool, funded=funded, closure_returns=closure_returns)

    return factory
