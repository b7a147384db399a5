"""Sales claims on the real Postgres and Kafka, with no ledger writer consuming the gateway's
commands: the gateway answers 202 past its deadline (here, at once), having stored the claims
and published their one command. The test then plays the ledger (books the published command)
and checks that nothing accepted was lost: a listing settles the request from the ledger's
stored outcome, and a retry with the same Idempotency-Key is answered from it."""

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from deploy.kafka_tools import create_topics, delete_topics_of
from gateway.auth import KeyResolver
from gateway.dependencies import Services, StoredOutcomesOf
from gateway.errors import Rejected
from gateway.myrewards import configuration, sales, users
from gateway.myrewards.configuration import MyRewardsConfig
from gateway.myrewards.models import SalesData, UserFields
from gateway.preview_limits import PreviewRateLimits
from gateway.publishing.outcomes import OutcomeNotifications
from gateway.publishing.previews import Previewer
from gateway.publishing.publisher import Publisher
from gateway.rate_limits import PartnerRateLimits
from gateway.rate_windows import PostgresRateWindows
from gateway.settings import GatewaySettings
from ledger import reads
from ledger.core.batch import IncomingCommand
from ledger.repository import Batch, apply_batch, fund_budget
from runtime.config_feed import ProgrammeConfigs
from schemas.ledger import LedgerCommand
from tests.integration.ledger.conftest import create_programme
from tests.integration.ledger.kafka_helpers import read_all

pytestmark = pytest.mark.integration


@pytest.fixture
async def services(kafka_bootstrap: str, postgres_url: str) -> AsyncIterator[Services]:
    """The gateway's services on a topic of their own, answering 202 at once."""
    run = uuid.uuid4().hex[:10]
    topic = f"claims-commands-{run}"
    await create_topics(kafka_bootstrap, {topic: 1})
    settings = GatewaySettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        ledger_commands_topic=topic,
        outcome_wait_ms=0,
    )
    publisher = Publisher(kafka_bootstrap, f"events-{run}", topic, 10.0, 0)
    await publisher.start()
    try:
        async with (
            contextlib.AsyncExitStack() as stack,
            asyncpg.create_pool(postgres_url, min_size=1, max_size=4) as pool,
        ):
            outcomes = OutcomeNotifications(
                postgres_url, 100, lambda ids: reads.get_outcomes(pool, ids)
            )
            keys = KeyResolver(pool, 30.0, 100)
            catalog = ProgrammeConfigs()
            # Never started: no test here previews. Stopped all the same, so that its
            # client objects are closed (aiokafka warns of unclosed ones at collection).
            previewer = Previewer(kafka_bootstrap, f"previews-{run}", f"replies-{run}")
            stack.push_async_callback(previewer.stop)
            yield Services(
                settings,
                pool,
                keys,
                publisher,
                catalog,
                outcomes,
                PartnerRateLimits(PostgresRateWindows(pool, 2.0)),
                StoredOutcomesOf(pool),
                previewer,
                PreviewRateLimits(),
            )
    finally:
        await publisher.stop()
        await delete_topics_of(kafka_bootstrap, run)


async def programme_with_users(pool: asyncpg.Pool, *, funded: bool) -> tuple[str, list[int]]:
    programme_id = await create_programme(pool, funded=funded)
    config = MyRewardsConfig.model_validate(
        {
            "programme_id": programme_id,
            "identifier": "username",
            "products": [
                {"id": 1, "product_or_activity": "SKU", "name": "Thing", "points_per_unit": 10}
            ],
        }
    )
    await configuration.save(pool, config)
    created = [
        await users.create(
            pool,
            programme_id,
            UserFields(username=name, firstname="A", lastname="B", tsandcs=True),
        )
        for name in ("ann", "ben")
    ]
    return programme_id, [user.id for user in created]


def two_claims(user_ids: list[int], quantity: int = 1) -> SalesData:
    return SalesData.model_validate(
        {
            "data": [
                {
                    "date_of_sale": "2024-05-01",
                    "product_or_activity": "SKU",
                    "quantity": quantity,
                    "user_id": user_id,
                }
                for user_id in user_ids
            ]
        }
    )


async def play_the_ledger(services: Services) -> LedgerCommand:
    """Book the one command the gateway published, as the ledger writer would."""
    topic = services.settings.ledger_commands_topic
    bootstrap = services.settings.kafka_bootstrap_servers
    [published] = await read_all(bootstrap, topic, expected=1)
    command = LedgerCommand.model_validate(published)
    async with services.pool.acquire() as conn:
        await apply_batch(conn, Batch([IncomingCommand.of(command)]))
    return command


async def test_claims_accepted_past_the_deadline_are_booked_and_listed_later(
    services: Services,
) -> None:
    pool = services.pool
    programme_id, user_ids = await programme_with_users(pool, funded=False)
    body = two_claims(user_ids, quantity=3)
    answer = await sales.create(services, programme_id, None, body, "retry-me")
    assert (answer.status, answer.claims, answer.points) == ("pending", 2, 60)
    pending, count = await sales.listed(services, programme_id, "pending", 1, 10)
    assert count == 2
    assert {claim.reference for claim in pending} == {answer.reference}
    assert (await sales.listed(services, programme_id, "booked", 1, 10))[1] == 0

    command = await play_the_ledger(services)
    assert command.command_id == answer.reference
    assert [booking.user_id for booking in command.bookings] == [str(u) for u in user_ids]

    # The gateway never learnt the outcome: the listing settles the request from the ledger.
    booked, count = await sales.listed(services, programme_id, "booked", 1, 10)
    assert count == 2
    assert [(claim.user_id, claim.points, claim.status) for claim in booked] == [
        (user_ids[0], 30, "booked"),
        (user_ids[1], 30, "booked"),
    ]
    for user_id in user_ids:
        assert await reads.get_balance(pool, programme_id, str(user_id)) == 30
    again = await sales.create(services, programme_id, None, body, "retry-me")
    assert (again.status, again.reference, again.points) == ("booked", answer.reference, 60)


async def test_a_pending_request_is_published_again_by_its_retry(services: Services) -> None:
    """As if the gateway stopped after storing the claims: the retry with the same key
    publishes the same command, which the ledger books once."""
    programme_id, user_ids = await programme_with_users(services.pool, funded=False)
    body = two_claims(user_ids)
    first = await sales.create(services, programme_id, None, body, "k")
    second = await sales.create(services, programme_id, None, body, "k")
    assert first == second
    topic = services.settings.ledger_commands_topic
    published = await read_all(services.settings.kafka_bootstrap_servers, topic, expected=2)
    once, twice = (IncomingCommand.of(LedgerCommand.model_validate(each)) for each in published)
    assert once.payload_sha256 == twice.payload_sha256
    async with services.pool.acquire() as conn:
        await apply_batch(conn, Batch([once, twice]))
    for user_id in user_ids:
        assert await reads.get_balance(services.pool, programme_id, str(user_id)) == 10
    with pytest.raises(Rejected) as conflict:
        await sales.create(services, programme_id, None, two_claims(user_ids, 2), "k")
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")


async def test_a_refused_request_is_settled_and_its_claims_deleted(services: Services) -> None:
    pool = services.pool
    programme_id, user_ids = await programme_with_users(pool, funded=True)
    async with pool.acquire() as conn:
        await fund_budget(conn, programme_id, 15, f"fund-{programme_id}")
    body = two_claims(user_ids)  # 20 points, 15 in the budget
    answer = await sales.create(services, programme_id, None, body, "short")
    assert answer.status == "pending"
    await play_the_ledger(services)
    assert (await sales.listed(services, programme_id, "pending", 1, 10))[1] == 0
    assert (await sales.listed(services, programme_id, "booked", 1, 10))[1] == 0
    stored = await pool.fetchval(
        "SELECT count(*) FROM myrewards_claims WHERE programme_id = $1", programme_id
    )
    assert stored == 0
    with pytest.raises(Rejected) as refused:
        await sales.create(services, programme_id, None, body, "short")
    assert (refused.value.status, refused.value.code) == (412, "programme_budget_exhausted")
    assert refused.value.message == "Programme does not have enough points"
