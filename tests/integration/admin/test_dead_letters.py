"""Dead letters on the real Kafka and Postgres: the console's feed stores each letter once
(read again after a restart, it collides), with its position stored with it; the letters are
listed by programme to those who see it; a replay publishes the original bytes to the source
topic, once, audited; a letter its replay became names it; a discard publishes nothing; a
viewer and a letter of another topic are refused."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.kafka_tools import create_topics
from gateway.admin.service import audit, dead_letters
from gateway.admin.service.backend import Backend
from gateway.admin.service.dead_letter_feed import DeadLetterFeed, stored_offsets
from gateway.admin.service.errors import Conflict, Forbidden, Invalid, NotFound
from runtime.kafka import produce
from schemas.dead_letters import DeadLetter, SourceRecord
from schemas.programme import ProgrammeConfig
from tests.integration.admin.conftest import CLI, make_admin
from tests.integration.admin.publishing import (
    RUN,
    Topics,
    people_backend,
    people_topics,
    publishing,
)

pytestmark = pytest.mark.integration
__all__ = ["people_backend", "people_topics", "publishing"]


def letter(source_topic: str, key: bytes | None, value: bytes, offset: int) -> bytes:
    source = SourceRecord(source_topic, 0, offset, key, value, 1_700_000_000_000)
    made = DeadLetter.of(source, "invalid_event", "event_id: Field required", "processors")
    return made.model_dump_json().encode()


async def feed_topic(kafka_bootstrap: str) -> str:
    """A dead-letter topic of the test's own (deleted with the module's topics)."""
    topic = f"dead-feed-{RUN}-{uuid.uuid4().hex[:6]}"
    await create_topics(kafka_bootstrap, {topic: 2})
    return topic


async def test_the_feed_stores_each_letter_once_and_resumes_where_it_stopped(
    people_backend: Backend, kafka_bootstrap: str, programme: ProgrammeConfig
) -> None:
    topic = await feed_topic(kafka_bootstrap)
    pid = programme.programme_id
    key = f"{pid}:usr_1".encode()
    letters = [(b"k", letter("events.v1", key, b'{"bad": %d}' % i, i)) for i in range(3)]
    await produce(kafka_bootstrap, topic, [*letters, (b"k", b"\x00 not a letter")])
    feed = DeadLetterFeed(people_backend.pool, kafka_bootstrap, topic)
    assert await feed.catch_up() == 4
    # A second console (or a restart that lost its offsets) reads them again: stored once.
    await people_backend.pool.execute("DELETE FROM dead_letter_offsets WHERE topic = $1", topic)
    assert await feed.catch_up() == 4
    rows = await people_backend.pool.fetch(
        "SELECT reason, programme_id, original_value FROM dead_letters WHERE letter_topic = $1 "
        "ORDER BY dead_letter_id",
        topic,
    )
    assert [(r["reason"], r["programme_id"]) for r in rows] == [
        *[("invalid_event", pid)] * 3,
        ("unreadable_dead_letter", None),
    ]
    assert rows[0]["original_value"] == b'{"bad": 0}'
    assert sum((await stored_offsets(people_backend.pool, topic)).values()) == 4
    await produce(kafka_bootstrap, topic, [(b"k", letter("events.v1", key, b"{}", 9))])
    assert await feed.catch_up() == 1


async def test_letters_are_listed_to_who_sees_their_programme(
    people_backend: Backend, kafka_bootstrap: str, programme: ProgrammeConfig
) -> None:
    topic = await feed_topic(kafka_bootstrap)
    pid = programme.programme_id
    await produce(kafka_bootstrap, topic, [
        (b"k", letter("events.v1", f"{pid}:u".encode(), b"{}", 1)),
        (b"k", letter("events.v1", None, b"\x01\x02", 2)),
    ])  # fmt: skip
    await DeadLetterFeed(people_backend.pool, kafka_bootstrap, topic).catch_up()
    editor = (await make_admin(people_backend.pool, "editor", [pid])).actor()
    mine = await dead_letters.listed(people_backend.pool, editor, dead_letters.Filters())
    assert {d.programme_id for d in mine} == {pid}
    everything = await dead_letters.listed(
        people_backend.pool, CLI, dead_letters.Filters(status="new", limit=200)
    )
    unnamed = next(d for d in everything if d.letter_topic == topic and d.programme_id is None)
    assert unnamed.value.encoding == "base64"
    with pytest.raises(NotFound):
        await dead_letters.get(people_backend.pool, editor, unnamed.dead_letter_id)
    with pytest.raises(NotFound):
        await dead_letters.discard(people_backend, editor, unnamed.dead_letter_id)
    with pytest.raises(Forbidden):
        dead_letters.require_changeable(editor, unnamed)


async def test_a_replay_publishes_the_original_bytes_once_and_its_failure_names_it(
    people_backend: Backend, kafka_bootstrap: str, programme: ProgrammeConfig,
    people_topics: Topics,
) -> None:  # fmt: skip
    topic = await feed_topic(kafka_bootstrap)
    pid = programme.programme_id
    key, value = f"{pid}:usr_9".encode(), b'{"event_type": "purchase"}'
    await produce(kafka_bootstrap, topic, [(b"k", letter(people_topics.events, key, value, 5))])
    feed = DeadLetterFeed(people_backend.pool, kafka_bootstrap, topic)
    await feed.catch_up()
    (first,) = await _letters_of(people_backend, topic)

    viewer = (await make_admin(people_backend.pool, "viewer", [pid])).actor()
    with pytest.raises(Forbidden):
        await dead_letters.replay(people_backend, viewer, first.dead_letter_id)
    replayed = await dead_letters.replay(people_backend, CLI, first.dead_letter_id)
    assert (replayed.status, replayed.handled_by) == ("replayed", CLI.label)
    assert replayed.replayed_offset is not None
    assert replayed.replayed_partition is not None
    tp = TopicPartition(people_topics.events, replayed.replayed_partition)
    assert await _record_at(kafka_bootstrap, tp, replayed.replayed_offset) == (key, value)
    with pytest.raises(Conflict):
        await dead_letters.replay(people_backend, CLI, first.dead_letter_id)
    with pytest.raises(Conflict):
        await dead_letters.discard(people_backend, CLI, first.dead_letter_id)

    # The replay fails again: the processors' new letter names the replayed record.
    again = DeadLetter.of(
        SourceRecord(people_topics.events, replayed.replayed_partition, replayed.replayed_offset,
                     key, value, None),
        "invalid_event", "event_id: Field required", "processors",
    )  # fmt: skip
    await produce(kafka_bootstrap, topic, [(b"k", again.model_dump_json().encode())])
    await feed.catch_up()
    second = (await _letters_of(people_backend, topic))[0]
    assert second.replay_of == first.dead_letter_id
    assert (await dead_letters.get(people_backend.pool, CLI, first.dead_letter_id)).replayed_as == (
        second.dead_letter_id
    )
    discarded = await dead_letters.discard(people_backend, CLI, second.dead_letter_id)
    assert discarded.status == "discarded"
    entries = await audit.entries(people_backend.pool, CLI, audit.Filters(pid, "dead_letter"))
    assert [(e.action, e.object_id) for e in entries[:2]] == [
        ("dead_letter.discarded", str(second.dead_letter_id)),
        ("dead_letter.replayed", str(first.dead_letter_id)),
    ]
    assert entries[1].before is not None
    assert entries[1].after is not None


async def test_a_letter_of_another_topic_is_not_replayed(
    people_backend: Backend, kafka_bootstrap: str, programme: ProgrammeConfig
) -> None:
    topic = await feed_topic(kafka_bootstrap)
    pid = programme.programme_id
    await produce(
        kafka_bootstrap,
        topic,
        [(b"k", letter("someone-elses-topic", f"{pid}:u".encode(), b"{}", 1))],
    )
    await DeadLetterFeed(people_backend.pool, kafka_bootstrap, topic).catch_up()
    (found,) = await _letters_of(people_backend, topic)
    with pytest.raises(Invalid) as refused:
        await dead_letters.replay(people_backend, CLI, found.dead_letter_id)
    assert "source_topic" in refused.value.fields
    assert (await dead_letters.get(people_backend.pool, CLI, found.dead_letter_id)).status == "new"


async def _letters_of(backend: Backend, topic: str) -> list[dead_letters.Letter]:
    found = await dead_letters.listed(backend.pool, CLI, dead_letters.Filters(limit=200))
    return [d for d in found if d.letter_topic == topic]


async def _record_at(bootstrap: str, tp: TopicPartition, offset: int) -> tuple[bytes, bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        consumer.seek(tp, offset)
        record = await consumer.getone()
        assert record.key is not None
        assert record.value is not None
        return record.key, record.value
    finally:
        await consumer.stop()
