"""The lists the database checks against are the code's: every variety, lifecycle action and
webhook type the code can write passes the tables' CHECK constraints after all migrations.

Migrations redefine such a CHECK as a whole list, so two made side by side (pending points'
Points Release, returns' Return) can each drop the other's value; the writer then dies on the
first entry of the dropped one. Unit tests cannot see it: only the migrated database can."""

import asyncpg
import pytest

from gateway.webhooks.subscriptions import KNOWN_EVENT_TYPES
from schemas.ledger import LifecycleAction, Variety

pytestmark = pytest.mark.integration


async def _definition(pool: asyncpg.Pool, constraint: str) -> str:
    found = await pool.fetchval(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = $1", constraint
    )
    assert found is not None, f"no constraint {constraint}"
    return str(found)


@pytest.mark.parametrize(
    ("constraint", "values"),
    [
        ("entries_variety_check", [variety.value for variety in Variety]),
        ("lifecycle_runs_action_check", [action.value for action in LifecycleAction]),
        ("webhook_subscriptions_event_types_check", list(KNOWN_EVENT_TYPES)),
    ],
)
async def test_every_value_the_code_writes_passes_the_check(
    ledger_pool: asyncpg.Pool, constraint: str, values: list[str]
) -> None:
    definition = await _definition(ledger_pool, constraint)
    missing = [value for value in values if f"'{value}'" not in definition]
    assert not missing, f"{constraint} refuses {missing}: {definition}"
