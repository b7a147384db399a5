"""The faust processors on the real broker: state survives restarts and rebalances, redelivered
events count once, bad records end where they should, configuration changes apply live."""

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from schemas import topics
from schemas.ledger import LedgerCommand
from schemas.programme import ProgrammeConfig
from tests.integration.processors.conftest import WorkerFactory
from tests.integration.processors.external_api import points_api
from tests.integration.processors.fixtures import (
    OwnTopics,
    TopicReader,
    capped_programme,
    event,
    producer,
    publish_programme,
    send,
)

pytestmark = pytest.mark.integration


def awarded(records: list[dict[str, object]]) -> int:
    """Points the ledger would book: a command re-emitted after a redelivery (at-least-once)
    carries the same id and must carry the same bookings, and counts once."""
    commands: dict[str, LedgerCommand] = {}
    for record in records:
        command = LedgerCommand.model_validate(record)
        first = commands.setdefault(command.command_id, command)
        assert first.bookings == command.bookings, f"{command.command_id} changed on redelivery"
    return sum(booking.points for c in commands.values() for booking in c.bookings)


async def test_the_daily_cap_holds_across_a_restart(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
) -> None:
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    worker = workers()
    async with producer(kafka_bootstrap) as client:
        for _ in range(2):
            await send(client, own_topics.events, event(programme_id, "alice"))
        assert awarded(await commands.read_until(2)) == 20
        worker.stop()
        workers()  # a new process: the memory store starts empty and recovers from the changelog
        # faust can hold back records fetched while a fresh worker finishes joining (see the
        # README); wait until this one is deciding before the events that test its state.
        await send(client, own_topics.events, event(programme_id, "probe"))
        await commands.read_until(3)
        for _ in range(3):
            await send(client, own_topics.events, event(programme_id, "alice"))
        records = await commands.read_until(6)
    assert awarded([r for r in records if r["user_id"] == "alice"]) == 30


async def test_caps_hold_per_user_when_two_workers_share_the_partitions(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
) -> None:
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    users = [f"user-{index}" for index in range(8)]
    workers()
    async with producer(kafka_bootstrap) as client:
        for user in users:
            await send(client, own_topics.events, event(programme_id, user))
        await commands.read_until(len(users))
        workers()  # joining triggers a rebalance; state moves with its partitions
        await asyncio.sleep(5)
        for _ in range(3):
            for user in users:
                await send(client, own_topics.events, event(programme_id, user))
        records = await commands.read_until(4 * len(users))
    for user in users:
        mine = [r for r in records if r["user_id"] == user]
        assert awarded(mine) == 30, user


async def test_a_rule_budget_holds_across_users_and_a_restart(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
) -> None:
    """Cap max 25 on a 10-point rule: 10, 10, then the 5 left, then nothing, also for a user
    decided by a new worker process that recovered the usage from the changelog."""
    await publish_programme(kafka_bootstrap, capped_programme(programme_id, budget_max=25))
    worker = workers()
    users = ["ann", "ben", "cat", "dan"]
    async with producer(kafka_bootstrap) as client:
        for user in users:
            await send(client, own_topics.events, event(programme_id, user))
        records = await commands.read_until(len(users))
        worker.stop()
        workers()
        await send(client, own_topics.events, event(programme_id, "eve"))
        records = await commands.read_until(len(users) + 1)
    paid = {r["user_id"]: awarded([r]) for r in records}
    assert sorted(paid.values()) == [0, 0, 5, 10, 10]
    assert paid["eve"] == 0
    explained = {r["command_id"]: orjson.dumps(r["explanation"]).decode() for r in records}
    assert sum("budget_max 25 cut 10 -> 5" in text for text in explained.values()) == 1
    assert sum("budget_max 25 cut 10 -> 0" in text for text in explained.values()) == 2


async def test_a_redelivered_event_is_counted_once(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
) -> None:
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    workers()
    once = event(programme_id, "bob")
    async with producer(kafka_bootstrap) as client:
        await send(client, own_topics.events, once)
        await send(client, own_topics.events, once)
        await send(client, own_topics.events, event(programme_id, "bob"))
        records = await commands.read_until(2)
    first, again = (r for r in records if r["command_id"] == once.event_id)
    assert first["bookings"] == again["bookings"]
    assert awarded(records) == 20


async def test_bad_records_are_dead_letters_or_zero_point_outcomes(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
    dead_letters: TopicReader,
) -> None:
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    workers()
    key = topics.user_key(programme_id, "carol")
    malformed = b'{"programme_id": "' + programme_id.encode() + b'", "not an event": true}'
    async with producer(kafka_bootstrap) as client:
        await client.send_and_wait(own_topics.events, malformed, key=key)
        await send(
            client, own_topics.events, event(programme_id, "carol", event_type="unknown_type")
        )
        await send(
            client,
            own_topics.events,
            event(programme_id, "carol", event_type="purchase", metadata={}),
        )
        wrong_type = {"amount": "lots"}
        await send(
            client,
            own_topics.events,
            event(programme_id, "carol", event_type="purchase", metadata=wrong_type),
        )
        paid_event = event(programme_id, "carol", event_type="purchase", metadata={"amount": 7})
        await send(client, own_topics.events, paid_event)
    (letter,) = await dead_letters.read_until(1)
    assert letter["reason"] == "invalid_event"
    assert base64.b64decode(letter["original_value_base64"]) == malformed
    assert letter["source_topic"] == own_topics.events
    assert letter["source_timestamp"], "the record's Kafka timestamp travels with it"
    await commands.read_until(4)
    unknown, missing, mistyped, paid = commands.distinct()
    for zero in (unknown, missing, mistyped):
        # Read through the contract: a command without bookings leaves the list out (0024).
        assert LedgerCommand.model_validate(zero).bookings == []
        assert orjson.dumps(zero["explanation"])  # the reason travels with the outcome
    assert awarded([paid]) == 7


async def test_an_event_dated_outside_the_time_policy_is_a_dead_letter(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
    dead_letters: TopicReader,
) -> None:
    """Records produced straight to the events topic are checked against their Kafka timestamp:
    2020 and tomorrow are dead letters naming the bound; an event of three days ago and
    imported history of 2020 are decided."""
    await publish_programme(kafka_bootstrap, capped_programme(programme_id))
    workers()
    now = datetime.now(UTC)
    old = event(programme_id, "fay", occurred_at=datetime(2020, 1, 1, tzinfo=UTC))
    ahead = event(programme_id, "fay", occurred_at=now + timedelta(days=1))
    recent = event(programme_id, "fay", occurred_at=now - timedelta(days=3))
    history = event(
        programme_id, "fay", occurred_at=datetime(2020, 1, 1, tzinfo=UTC), import_id="imp_1"
    )
    async with producer(kafka_bootstrap) as client:
        for item in (old, ahead, recent, history):
            await send(client, own_topics.events, item)
    past_letter, future_letter = await dead_letters.read_until(2)
    for letter, sent, bound in ((past_letter, old, "past"), (future_letter, ahead, "future")):
        assert letter["reason"] == "occurred_at_out_of_bounds"
        assert f"(the programme's event_time.{bound}_max_s)" in letter["error"]
        assert "this programme accepts events dated from" in letter["error"]
        assert orjson.loads(base64.b64decode(letter["original_value_base64"]))["event_id"] == (
            sent.event_id
        )
    assert "is more than 7 days (604800 s) before the record timestamp" in past_letter["error"]
    assert "is more than 5 minutes (300 s) after the record timestamp" in future_letter["error"]
    await commands.read_until(2)
    assert [c["command_id"] for c in commands.distinct()] == [recent.event_id, history.event_id]
    assert awarded(commands.distinct()) == 20


async def test_a_configuration_change_applies_without_a_restart(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
) -> None:
    await publish_programme(kafka_bootstrap, capped_programme(programme_id, version=1, points=10))
    workers()
    async with producer(kafka_bootstrap) as client:
        await send(client, own_topics.events, event(programme_id, "dave"))
        await commands.read_until(1)
        await publish_programme(
            kafka_bootstrap, capped_programme(programme_id, version=2, points=3)
        )
        await asyncio.sleep(2)
        await send(client, own_topics.events, event(programme_id, "dave"))
        await commands.read_until(2)
        before, after = commands.distinct()
    assert before["bookings"][0]["points"] == 10
    assert after["bookings"][0]["points"] == 3
    assert after["bookings"][0]["lineage"]["rule_version"] == 2


def programmatic_programme(programme_id: str, url: str) -> ProgrammeConfig:
    return ProgrammeConfig.model_validate(
        {
            "programme_id": programme_id,
            "version": 1,
            "event_types": [{"name": "order"}],
            "rules": [
                {"rule_id": "from-api", "version": 1, "event_type": "order", "status": "active",
                 "default": True, "points_type": "external", "points": 7,
                 "external": {"url": url, "method": "POST", "body": {"tenant": "t1"}}},
            ],
        }
    )  # fmt: skip


@pytest.mark.parametrize(("path", "expected"), [("/points/42", 42), ("/down", 7)])
async def test_a_programmatic_rule_takes_its_points_from_the_api_or_falls_back(
    kafka_bootstrap: str,
    own_topics: OwnTopics,
    programme_id: str,
    workers: WorkerFactory,
    commands: TopicReader,
    path: str,
    expected: int,
) -> None:
    with points_api() as api:
        url = f"http://127.0.0.1:{api.server_address[1]}{path}"
        await publish_programme(kafka_bootstrap, programmatic_programme(programme_id, url))
        workers()
        order = event(programme_id, "erin", event_type="order")
        async with producer(kafka_bootstrap) as client:
            await send(client, own_topics.events, order)
            await commands.read_until(1)
    assert awarded(commands.distinct()) == expected
    assert api.received, "the API was called"
    assert api.received[0]["tenant"] == "t1"
    assert api.received[0]["event"]["event_id"] == order.event_id
