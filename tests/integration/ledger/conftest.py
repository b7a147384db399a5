"""Fixtures for the ledger's integration tests: a pool on the session's real Postgres, and
programmes with fresh ids, so tests never see each other's accounts."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping

import asyncpg
import orjson
import pytest

from deploy.kafka_tools import delete_topics_of
from deploy.local.settings import LocalSettings
from ledger.check import check_ledger
from ledger.core.batch import IncomingCommand, Outcome
from ledger.repository import Batch, apply_batch
from schemas.ledger import OutcomeStatus
from tests.integration.ledger import kafka_helpers

ProgrammeFactory = Callable[..., Awaitable[str]]


async def apply(
    pool: asyncpg.Pool, *commands: IncomingCommand, expect_new: bool = False
) -> list[Outcome]:
    """Book the commands as one batch; their outcomes, in order."""
    async with pool.acquire() as conn:
        plan = await apply_batch(conn, Batch(commands, expect_new=expect_new))
    return [planned.outcome for planned in plan.outcomes]


def statuses(outcomes: Iterable[Outcome]) -> list[OutcomeStatus]:
    return [outcome.status for outcome in outcomes]


async def assert_consistent(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        report = await check_ledger(conn)
    assert report.ok, report


@pytest.fixture(scope="session", autouse=True)
async def ledger_topics_deleted(local_settings: LocalSettings) -> AsyncIterator[None]:
    """At the session's end, the topics its ledger tests made (only they start Kafka)."""
    yield
    if kafka_helpers.made_topics:
        await delete_topics_of(local_settings.kafka_bootstrap_servers, kafka_helpers.RUN)


@pytest.fixture(scope="session")
async def ledger_pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(postgres_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


def programme_config(
    *, closure_returns: bool = False, rule_budgets: Mapping[str, int | None] | None = None
) -> str:
    """The stored snapshot, with only what the ledger reads: a rule per `rule_budgets` item,
    with its `budget_max` (None: a rule without one)."""
    config: dict[str, object] = {}
    if closure_returns:
        config["account_closure_returns_to_budget"] = True
    if rule_budgets is not None:
        config["rules"] = [
            {"rule_id": rule_id, "version": 1, "event_type": "purchase"}
            | ({} if budget_max is None else {"budget_max": budget_max})
            for rule_id, budget_max in rule_budgets.items()
        ]
    return orjson.dumps(config).decode()


async def create_programme(
    db: asyncpg.Pool | asyncpg.Connection,
    *,
    funded: bool = False,
    closure_returns: bool = False,
    rule_budgets: Mapping[str, int | None] | None = None,
) -> str:
    programme_id = f"p-{uuid.uuid4().hex[:12]}"
    config = programme_config(closure_returns=closure_returns, rule_budgets=rule_budgets)
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
    async def factory(
        *,
        funded: bool = False,
        closure_returns: bool = False,
        rule_budgets: Mapping[str, int | None] | None = None,
    ) -> str:
        return await create_programme(
            ledger_pool, funded=funded, closure_returns=closure_returns, rule_budgets=rule_budgets
        )

    return factory
