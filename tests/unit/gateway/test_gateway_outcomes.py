"""Waiting for outcomes without Postgres: a fake reader stands in for the batched query."""

import asyncio

import orjson
import pytest

from gateway.errors import Unavailable
from gateway.publishing.outcomes import OutcomeNotifications
from schemas.ledger import CommandOutcome, OutcomeStatus


class FakeReader:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def __call__(self, command_ids: list[str]) -> dict[str, CommandOutcome]:
        self.calls.append(command_ids)
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("connection refused")
        return {
            cid: CommandOutcome(command_id=cid, status=OutcomeStatus.BOOKED, points=5)
            for cid in command_ids
        }


def notify(notifications: OutcomeNotifications, command_id: str) -> None:
    notifications.notified(None, 1, "ledger_outcomes", orjson.dumps([command_id]).decode())


async def test_one_query_reads_the_outcomes_of_one_burst_of_notifications() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    async with (
        notifications.expect("evt_1") as first,
        notifications.expect("evt_2") as second,
        notifications.expect("evt_2") as same_event,
    ):
        for command_id in ("evt_1", "evt_2", "evt_other_instance"):
            notify(notifications, command_id)
        outcomes = await asyncio.gather(first, second, same_event)
    assert reader.calls == [["evt_1", "evt_2"]]
    assert [outcome and outcome.points for outcome in outcomes] == [5, 5, 5]
    assert notifications.waiting == 0


async def test_one_notification_names_several_commands() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    async with notifications.expect("evt_1") as first, notifications.expect("evt_3") as third:
        payload = orjson.dumps(["evt_1", "evt_2", "evt_3"]).decode()
        notifications.notified(None, 1, "ledger_outcomes", payload)
        await asyncio.gather(first, third)
    assert reader.calls == [["evt_1", "evt_3"]]


async def test_a_malformed_notification_is_ignored() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    async with notifications.expect("evt_1"):
        for payload in ("evt_1", '{"evt_1": 1}', '["evt_1", 1]'):
            notifications.notified(None, 1, "ledger_outcomes", payload)
        await asyncio.sleep(0)
    assert reader.calls == []


async def test_a_notification_carrying_the_outcome_answers_without_a_read() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    columns = {
        "command_id": "evt_1",
        "status": "booked",
        "reason_code": None,
        "reason_message": None,
        "points": 150,
        "balance_after": 150,
        "explanation": '{"status": "awarded"}',
        "recorded_at": "2026-11-22T10:30:15.123456+00:00",
    }
    async with notifications.expect("evt_1") as committed:
        notifications.notified(None, 1, "ledger_outcomes", orjson.dumps([columns]).decode())
        outcome = await committed
    assert outcome is not None
    assert (outcome.points, outcome.explanation) == (150, {"status": "awarded"})
    assert reader.calls == []


async def test_notified_columns_that_make_no_outcome_are_read_instead() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    columns = {"command_id": "evt_1", "status": "lost", "points": "many"}
    async with notifications.expect("evt_1") as committed:
        notifications.notified(None, 1, "ledger_outcomes", orjson.dumps([columns]).decode())
        outcome = await committed
    assert outcome is not None
    assert outcome.points == 5
    assert reader.calls == [["evt_1"]]


async def test_notifications_for_nobody_waiting_here_read_nothing() -> None:
    reader = FakeReader()
    notifications = OutcomeNotifications("postgresql://unused", 10, reader)
    notify(notifications, "evt_elsewhere")
    await asyncio.sleep(0)
    assert reader.calls == []


async def test_an_unreadable_outcome_completes_the_wait_with_none() -> None:
    notifications = OutcomeNotifications("postgresql://unused", 10, FakeReader(fail=True))
    async with notifications.expect("evt_1") as committed:
        notify(notifications, "evt_1")
        assert await committed is None


async def test_past_the_waiting_limit_the_answer_is_unavailable() -> None:
    notifications = OutcomeNotifications("postgresql://unused", 1, FakeReader())
    async with notifications.expect("evt_1"):
        with pytest.raises(Unavailable):
            async with notifications.expect("evt_2"):
                pass
    async with notifications.expect("evt_2"):
        assert notifications.waiting == 1
