"""Previews on real workers: answered from the user's real state by the worker that owns the
user's partition (also with two workers), with the draft rules on request, and changing nothing."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from gateway.publishing.previews import Previewer, PreviewUnavailable
from schemas import topics
from schemas.events import EventV1
from schemas.previews import PreviewReply
from schemas.programme import ProgrammeConfig
from tests.integration.processors.conftest import WorkerFactory
from tests.integration.processors.fixtures import (
    OwnTopics,
    TopicReader,
    capped_programme,
    event,
    producer,
    publish_programme,
    send,
)
from tests.integration.processors.test_processors import awarded

pytestmark = pytest.mark.integration
ATTEMPTS_MAX = 30


@pytest.fixture
async def previewer(kafka_bootstrap: str, own_topics: OwnTopics) -> AsyncIterator[Previewer]:
    client = Previewer(kafka_bootstrap, own_topics.previews, own_topics.replies, wait_s=5.0)
    await client.start()
    yield client
    await client.stop()


async def preview(previewer: Previewer, item: EventV1, *, drafts: bool = False) -> PreviewReply:
    """The reply, asked again while a worker is still joining (a worker refuses a partition it
    does not hold yet, and none answers before the group has formed)."""
    for _ in range(ATTEMPTS_MAX):
        try:
            return await previewer.preview(item, drafts=drafts)
        except PreviewUnavailable:
            await asyncio.sleep(1.0)
    raise AssertionError(f"no preview of {item.event_id} after {ATTEMPTS_MAX} attempts")


def visit(programme_id: str, user: str) -> EventV1:
    return event(programme_id, user, occurred_at=datetime.now(UTC))


async def test_a_preview_sees_the_users_cap_and_changes_nothing(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
    previewer: Previewer,
) -> None:
    """10 points a visit, 30 a day: previews along the way say what the next visit earns, and
    asking three times changes nothing (the next publish earns what they said)."""
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    workers()
    async with producer(kafka_bootstrap) as client:
        for published in range(1, 5):
            said = [await preview(previewer, visit(programme_id, "ann")) for _ in range(3)]
            assert {reply.points for reply in said} == {10 if published < 4 else 0}
            await send(client, own_topics.events, visit(programme_id, "ann"))
            records = await commands.read_until(published)
            assert awarded(records[-1:]) == said[0].points
    capped = said[0]
    assert (capped.status, capped.reason_code) == ("no_points", "daily_cap")
    assert "daily cap 30" in str(capped.reason)
    assert capped.explanation["rules"][0]["rule_id"] == "visit"  # type: ignore[index,call-overload]
    assert (capped.programme_version, capped.drafts) == (1, False)


async def test_each_of_two_workers_answers_for_the_users_of_its_partitions(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
    previewer: Previewer,
) -> None:
    """faust gives one worker the same partitions of previews.v1 and events.v1 (the topics have
    the same partition count): every user's preview sees the three visits that capped them, so
    none was answered from another worker's (empty) state."""
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    users = [f"user-{index}" for index in range(8)]
    workers()
    workers()
    async with producer(kafka_bootstrap) as client:
        for _ in range(3):
            for user in users:
                await send(client, own_topics.events, visit(programme_id, user))
        await commands.read_until(3 * len(users))
    replies = [await preview(previewer, visit(programme_id, user)) for user in users]
    assert [(r.points, r.reason_code) for r in replies] == [(0, "daily_cap")] * len(users)


def drafted(programme_id: str) -> ProgrammeConfig:
    """`visit` pays 10; a draft rule tried first pays 50."""
    config = capped_programme(programme_id)
    draft = {"rule_id": "visit-bonus", "version": 1, "event_type": "visit", "status": "draft",
             "priority": -1, "points": 50}  # fmt: skip
    rules = [rule.model_dump() for rule in config.rules] + [draft]
    return ProgrammeConfig.model_validate(config.model_dump() | {"rules": rules})


async def test_drafts_decide_only_when_asked(
    kafka_bootstrap: str,
    programme_id: str,
    workers: WorkerFactory,
    previewer: Previewer,
) -> None:
    await publish_programme(kafka_bootstrap, drafted(programme_id))
    workers()
    live = await preview(previewer, visit(programme_id, "bo"))
    with_drafts = await preview(previewer, visit(programme_id, "bo"), drafts=True)
    assert (live.points, [a.rule_id for a in live.awards]) == (10, ["visit"])
    assert (with_drafts.points, [a.rule_id for a in with_drafts.awards]) == (50, ["visit-bonus"])
    assert with_drafts.drafts


async def test_an_unreadable_request_is_a_dead_letter(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    dead_letters: TopicReader,
) -> None:
    workers()
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await client.start()
    try:
        key = topics.user_key(programme_id, "cy")
        await client.send_and_wait(own_topics.previews, b'{"request_id": "x"}', key=key)
    finally:
        await client.stop()
    (letter,) = await dead_letters.read_until(1)
    assert letter["reason"] == "invalid_preview"
    assert letter["source_topic"] == own_topics.previews
    assert "validation error" in letter["error"]


async def test_without_a_worker_a_preview_is_unavailable_at_its_deadline(
    kafka_bootstrap: str, own_topics: OwnTopics, programme_id: str
) -> None:
    client = Previewer(kafka_bootstrap, own_topics.previews, own_topics.replies, wait_s=0.5)
    await client.start()
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(PreviewUnavailable, match=r"no preview within 0\.5 s"):
            await client.preview(visit(programme_id, "di"))
        assert asyncio.get_running_loop().time() - started < 2.0
        assert client.waiting == 0
    finally:
        await client.stop()
