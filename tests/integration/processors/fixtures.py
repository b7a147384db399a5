"""Real faust workers as processes, a programme of their own per test, and readers of what the
workers emit, all on the real Kafka broker."""

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.kafka_tools import create_topics
from deploy.local import processes
from deploy.local.paths import REPO
from gateway.admin.programmes import publish
from runtime.kafka import partitions_of
from schemas import topics
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig

READ_TIMEOUT_S = 120.0
# One instant for every test event, so a daily cap counts them on one day; within the programmes'
# event-time policy (7 days back by default) around the records' timestamps, whenever the tests run.
OCCURRED_AT = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def capped_programme(
    programme_id: str, version: int = 1, points: int = 10, budget_max: int | None = None
) -> ProgrammeConfig:
    """`visit` pays `points`, at most 30 a day (and `budget_max` in all, if given); `purchase`
    needs an integer `amount`."""
    budget = {} if budget_max is None else {"budget_max": budget_max}
    return ProgrammeConfig.model_validate(
        {
            "programme_id": programme_id,
            "version": version,
            "event_types": [
                {"name": "visit"},
                {"name": "purchase",
                 "parameters": [{"name": "amount", "type": "integer", "mandatory": True}]},
            ],
            "rules": [
                {"rule_id": "visit", "version": version, "event_type": "visit", "status": "active",
                 "default": True, "points": points, "daily_cap": 30, **budget},
                {"rule_id": "purchase", "version": 1, "event_type": "purchase", "status": "active",
                 "default": True, "points": 1, "points_type": "per_unit", "unit_field": "amount"},
            ],
        }
    )  # fmt: skip


def event(programme_id: str, user_id: str, event_type: str = "visit", **fields: Any) -> EventV1:
    values: dict[str, Any] = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "programme_id": programme_id,
        "user_id": user_id,
        "event_type": event_type,
        "occurred_at": OCCURRED_AT,
    }
    return EventV1.model_validate(values | fields)


@dataclass(frozen=True)
class OwnTopics:
    """Topics of one test's own: a worker reads no other test's (or benchmark's) history."""

    events: str
    commands: str
    dead_letters: str
    previews: str
    replies: str
    run: str
    """The id every one of the names holds."""

    @classmethod
    async def create(cls, bootstrap: str, partitions: int) -> "OwnTopics":
        run = uuid.uuid4().hex[:10]
        made = cls(
            f"test-events-{run}",
            f"test-commands-{run}",
            f"test-dead-{run}",
            f"test-previews-{run}",
            f"test-replies-{run}",
            run,
        )
        names = (made.events, made.commands, made.dead_letters, made.previews, made.replies)
        await create_topics(bootstrap, {name: partitions for name in names})
        return made


class Worker:
    """One `loyalty-processors` process, as `./dev up` runs it."""

    def __init__(
        self, bootstrap: str, app_id: str, data_dir: Path, name: str, topics_: "OwnTopics"
    ) -> None:
        self.name = name
        self._env = {
            "LOYALTY_EVENTS_TOPIC": topics_.events,
            "LOYALTY_LEDGER_COMMANDS_TOPIC": topics_.commands,
            "LOYALTY_DEAD_LETTERS_TOPIC": topics_.dead_letters,
            "LOYALTY_PREVIEWS_TOPIC": topics_.previews,
            "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "LOYALTY_PROCESSORS_APP_ID": app_id,
            "LOYALTY_PROCESSORS_DATA_DIR": str(data_dir / name),
            "LOYALTY_METRICS_PORT": "0",
            # faust says at info what a failed test's report shows of the worker (conftest.py):
            # its assignments, recoveries and seeks.
            "LOYALTY_LOG_LEVEL": "info",
        }

    def start(self) -> None:
        processes.start(self.name, [sys.executable, "-m", "processors"], env=self._env, cwd=REPO)

    def stop(self) -> None:
        processes.stop(self.name)


async def publish_programme(bootstrap: str, config: ProgrammeConfig) -> None:
    await publish(bootstrap, [config])


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def send(client: AIOKafkaProducer, topic: str, item: EventV1) -> None:
    value = orjson.dumps(item.model_dump(mode="json"))
    await client.send_and_wait(topic, value, key=topics.user_key(item.programme_id, item.user_id))


class TopicReader:
    """Reads a topic from the offsets it had when created, keeping one programme's records."""

    def __init__(self, bootstrap: str, topic: str, programme_id: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._bootstrap = bootstrap
        self._topic = topic
        self._programme = programme_id
        self.records: list[dict[str, Any]] = []

    async def start(self) -> None:
        assigned = await partitions_of(self._bootstrap, self._topic)
        await self._consumer.start()
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        for partition in assigned:
            await self._consumer.position(partition)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def read_until(self, count: int) -> list[dict[str, Any]]:
        """At least `count` records, redelivered duplicates (same command id) counted once."""
        async with asyncio.timeout(READ_TIMEOUT_S):
            while len(self.distinct()) < count:
                batches = await self._consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    self.records += [
                        orjson.loads(r.value) for r in batch if self._mine(r.key, r.value)
                    ]
        return self.records

    def distinct(self) -> list[dict[str, Any]]:
        """Records in first-seen order, one per command id (dead letters have none: all kept)."""
        seen: dict[object, dict[str, Any]] = {}
        for index, record in enumerate(self.records):
            seen.setdefault(record.get("command_id", index), record)
        return list(seen.values())

    def _mine(self, key: bytes | None, value: bytes | None) -> bool:
        prefix = f"{self._programme}:".encode()
        return (key or b"").startswith(prefix) or self._programme.encode() in (value or b"")
