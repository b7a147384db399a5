"""The scheduler's tier reviews on the real Postgres and Kafka: each day sends a `tier.review`
record on events.v1 to every user whose tier is due by then (a day missed included), none to
the others, dated the day's local midnight, with an id that the same day always repeats."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from deploy.kafka_tools import create_topics
from scheduler.emitting import emit_due
from scheduler.running import connected
from scheduler.settings import SchedulerSettings
from scheduler.tier_reviews import review_event
from schemas.events import EventV1
from tests.integration.ledger.kafka_helpers import RUN, made_topics, read_all
from tests.integration.scheduler.test_scheduler import ACCRA, new_programme, pool

pytestmark = pytest.mark.integration
__all__ = ["pool"]  # the fixture, shared


@pytest.fixture
async def settings(kafka_bootstrap: str, postgres_url: str) -> SchedulerSettings:
    commands = f"scheduler-commands-{RUN}-{uuid.uuid4().hex[:8]}"
    events = f"scheduler-events-{RUN}-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_bootstrap, {commands: 1, events: 2})
    made_topics.extend([commands, events])
    return SchedulerSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=postgres_url,
        ledger_commands_topic=commands,
        events_topic=events,
    )


async def tiers_due(pool: asyncpg.Pool, programme_id: str, due: dict[str, date | None]) -> None:
    await pool.executemany(
        """INSERT INTO ledger.user_tiers (programme_id, user_id, tier, reason, review_on,
                                          command_id)
           VALUES ($1, $2, 'Silver', 'threshold_crossed', $3, 'evt_' || $2)""",
        [(programme_id, user_id, day) for user_id, day in due.items()],
    )


async def test_a_day_reviews_the_users_due_by_then_once_each(
    settings: SchedulerSettings, pool: asyncpg.Pool
) -> None:
    prog, other = await new_programme(pool), await new_programme(pool)
    day = date(2026, 3, 10)
    await tiers_due(
        pool,
        prog,
        {"due": day, "missed": day - timedelta(days=3), "later": day + timedelta(days=1),
         "never": None},
    )  # fmt: skip
    await tiers_due(pool, other, {"elsewhere": day})
    async with connected(settings) as (conn_pool, send, review):
        emitted = await emit_due(conn_pool, send, prog, ZoneInfo(ACCRA), day, 3, review)
        assert emitted.days == [day]
    sent = [
        EventV1.model_validate(value)
        for value in await read_all(settings.kafka_bootstrap_servers, settings.events_topic, 2)
    ]
    assert sorted(event.user_id for event in sent) == ["due", "missed"]
    midnight = datetime(2026, 3, 10, tzinfo=ZoneInfo(ACCRA))
    for event in sent:
        assert (event.programme_id, event.event_type, event.occurred_at) == (
            prog,
            "tier.review",
            midnight,
        )
        again = review_event(prog, event.user_id, day, ZoneInfo(ACCRA))
        assert event.event_id == again.event_id  # the same day, the same id
    assert review_event(prog, "due", day + timedelta(days=1), ZoneInfo(ACCRA)).event_id not in {
        event.event_id for event in sent
    }
