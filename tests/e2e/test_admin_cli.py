"""`loyalty-admin` as a person runs it, against the running system: `set-tier` changes what the
user's next event earns, a staging key for a production programme is one refused line, and the
ledger the whole system booked checks clean."""

import os
import uuid

import asyncpg
import httpx
import orjson
import pytest

from deploy.local.settings import LocalSettings
from tests.e2e.conftest import DATABASE, Credentials, RunTopics, admin_cli, new_user

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin_env(
    system: tuple[LocalSettings, Credentials], kafka_bootstrap: str, session_topics: RunTopics
) -> dict[str, str]:
    return {
        **os.environ,
        "LOYALTY_DATABASE_URL": system[0].database_url(DATABASE),
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LOYALTY_EVENTS_TOPIC": session_topics.events,
    }


async def earn(gateway: httpx.AsyncClient, key: str, user_id: str, amount: float) -> int:
    response = await gateway.post(
        "/api/partner/events",
        json={"user_id": user_id, "event_type": "purchase", "metadata": {"amount": amount}},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 200, response.text
    points: int = response.json()["points_awarded"]
    return points


async def test_set_tier_makes_the_next_event_earn_with_the_tiers_multiplier(
    gateway: httpx.AsyncClient, credentials: Credentials, admin_env: dict[str, str]
) -> None:
    user_id = new_user()
    assert await earn(gateway, credentials.partner, user_id, 10) == 10  # Bronze: 1.0
    reference = f"crm-{uuid.uuid4().hex[:8]}"
    args = ("set-tier", "--programme", "e2e", "--user", user_id, "--tier", "Silver")
    first = await admin_cli(admin_env, *args, "--reference", reference)
    assert (first.status, first.stderr) == (0, ""), first
    event_id = first.stdout.split(":")[0]
    assert first.stdout == f"{event_id}: user {user_id} of e2e gets tier Silver\n"
    assert await earn(gateway, credentials.partner, user_id, 10) == 15  # Silver: 1.5
    again = await admin_cli(admin_env, *args, "--reference", reference)
    assert (again.status, again.stdout) == (0, first.stdout)  # the same event: nothing new
    assert await earn(gateway, credentials.partner, user_id, 3) == 4  # floor(4.5)
    async with asyncpg.create_pool(admin_env["LOYALTY_DATABASE_URL"], min_size=1) as pool:
        row = await pool.fetchrow(
            "SELECT status, points, explanation::text AS explanation "
            "FROM ledger.command_outcomes WHERE command_id = $1",
            event_id,
        )
    assert row is not None
    assert (row["status"], row["points"]) == ("booked", 0)
    assert orjson.loads(row["explanation"])["reason"] == "tier set to 'Silver'"


async def test_set_tier_refuses_a_tier_the_programme_lacks(admin_env: dict[str, str]) -> None:
    run = await admin_cli(
        admin_env, "set-tier", "--programme", "e2e", "--user", new_user(), "--tier", "Gold"
    )
    assert (run.status, run.stdout) == (2, "")
    assert run.stderr == (
        "error: programme e2e has no tier 'Gold'; its tiers are ['Bronze', 'Silver']\n"
    )


async def test_a_staging_key_for_a_production_programme_is_one_line(
    admin_env: dict[str, str],
) -> None:
    run = await admin_cli(
        admin_env, "create-key", "--programme", "e2e", "--partner", "e2e-partner",
        "--environment", "staging",
    )  # fmt: skip
    assert (run.status, run.stdout) == (2, "")
    assert run.stderr == (
        "error: programme e2e is production; a staging credential cannot reach it\n"
    )
    unknown = await admin_cli(admin_env, "create-key", "--programme", "nope", "--partner", "p")
    assert (unknown.status, unknown.stderr) == (
        2,
        "error: unknown programme 'nope' (load its file first)\n",
    )


async def test_the_ledger_the_system_booked_checks_clean(
    gateway: httpx.AsyncClient, credentials: Credentials, admin_env: dict[str, str]
) -> None:
    await earn(gateway, credentials.partner, new_user(), 12)
    whole = await admin_cli(admin_env, "check-ledger")
    assert (whole.status, whole.stderr) == (0, ""), whole.stdout
    assert whole.stdout.splitlines()[-1] == "clean"
    scoped = await admin_cli(admin_env, "check-ledger", "--programme", "e2e")
    assert scoped.status == 0, scoped.stdout
    assert scoped.stdout.startswith("ledger check of e2e: ")
