"""The scheduler's rounds: every `scheduler_tick_s`, each programme's due days are emitted
(`emitting.emit_due`) through one idempotent, acks=all producer."""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from scheduler import metrics
from scheduler.days import local_today
from scheduler.emitting import Emitted, Send, emit_due, programmes
from scheduler.settings import SchedulerSettings
from scheduler.tier_reviews import SendReview

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The scheduler is where time enters the pipeline: the one reader of the clock."""
    return datetime.now(UTC)


@asynccontextmanager
async def connected(
    settings: SchedulerSettings,
) -> AsyncIterator[tuple[asyncpg.Pool, Send, SendReview]]:
    pool = await asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=2,
        server_settings={"application_name": "loyalty-scheduler"},
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id="loyalty-scheduler",
    )
    topic, events_topic = settings.ledger_commands_topic, settings.events_topic

    async def send(key: bytes, value: bytes) -> None:
        await producer.send_and_wait(topic, value=value, key=key)

    async def review(key: bytes, value: bytes) -> None:
        await producer.send_and_wait(events_topic, value=value, key=key)

    try:
        await producer.start()
        yield pool, send, review
    finally:
        await producer.stop()
        await pool.close()


async def tick(
    pool: asyncpg.Pool,
    send: Send,
    settings: SchedulerSettings,
    now: datetime,
    review: SendReview | None = None,
) -> list[Emitted]:
    """One round over the programmes; what each sent."""
    rounds: list[Emitted] = []
    for programme_id, zone in await programmes(pool, settings.scheduler_programmes_max):
        today = local_today(now, zone)
        days_max = settings.scheduler_days_per_tick_max
        emitted = await emit_due(pool, send, programme_id, zone, today, days_max, review)
        metrics.DAYS_BEHIND.labels(programme_id).set(max(0, (today - emitted.last_day).days))
        if emitted.days:
            log.info("%s: sent %s", programme_id, ", ".join(map(str, emitted.days)))
        rounds.append(emitted)
    return rounds


async def run(settings: SchedulerSettings, stop: asyncio.Event, clock: Clock = wall_clock) -> None:
    """Rounds until `stop`; a round that fails (Postgres or Kafka away for a moment) is logged,
    counted and tried again at the next one."""
    async with connected(settings) as (pool, send, review):
        while not stop.is_set():
            try:
                await tick(pool, send, settings, clock(), review)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, KafkaError, OSError) as exc:
                log.warning("scheduler round failed, will retry: %s", exc)
                metrics.TICKS.labels("failed").inc()
            else:
                metrics.TICKS.labels("ok").inc()
                metrics.LAST_TICK.set(time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.scheduler_tick_s)
