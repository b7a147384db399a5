"""The MyRewards points transactions apart from HTTP and Postgres (`gateway.myrewards.points`):
users and the ledger's reads in memory (tests/unit/gateway/myrewards/fakes.py), a transaction
booked and answered through the shared path's in-memory ports, the ledger writer played by
`LedgerWriter`. The real routes and stores: tests/e2e/test_myrewards.py."""

from datetime import UTC, datetime

import pytest

from gateway.errors import ApiError
from gateway.myrewards import points
from gateway.myrewards.models import TransactionCreated, TransactionFields, TransactionPending
from gateway.myrewards.ports import MyRewardsStores
from schemas.ledger import LedgerCommand
from tests.unit.gateway.myrewards.fakes import FakeUsers, LedgerWriter, ledger_of, stores
from tests.unit.gateway.publishing.fakes import published, services

AT = datetime(2026, 12, 4, 12, tzinfo=UTC)


def fields(points_: int = 100, **more: object) -> TransactionFields:
    return TransactionFields.model_validate(
        {"transaction_type": "Credit", "variety": "Programme Points", "points": points_,
         "reason": "welcome", **more}
    )  # fmt: skip


def debit(points_: int, variety: str = "Redemption", **more: object) -> TransactionFields:
    return fields(points_, transaction_type="Debit", variety=variety, **more)


def myrewards() -> MyRewardsStores:
    return stores(FakeUsers("shop", u7="ann", u8="ben"))


def refused(raised: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


async def test_a_credit_is_booked_and_answered_with_its_ledger_entry() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    answer = await points.create(found, world, "shop", 7, fields(), None)
    assert isinstance(answer, TransactionCreated)
    (command,) = published(world)
    assert isinstance(command, LedgerCommand)
    assert (command.programme_id, command.user_id, command.bookings[0].points) == ("shop", "7", 100)
    assert answer.id == ledger_of(found).entries[command.command_id]


async def test_a_user_unknown_in_the_programme_is_no_content_and_nothing_is_booked() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    assert await points.create(found, world, "other", 7, fields(), None) is None
    assert await points.create(found, world, "shop", 9, fields(), None) is None
    assert published(world) == []


async def test_a_transfer_to_an_unknown_counterparty_is_an_invalid_transaction() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    transfer = debit(10, variety="Person 2 Person Transfer", counterparty_user_id=9)
    with pytest.raises(ApiError) as raised:
        await points.create(found, world, "shop", 7, transfer, None)
    assert refused(raised) == (406, "invalid_transaction")
    assert published(world) == []


async def test_a_debit_the_ledger_refuses_is_answered_with_its_reason() -> None:
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    with pytest.raises(ApiError) as raised:
        await points.create(found, world, "shop", 7, debit(10), None)
    assert refused(raised) == (402, "insufficient_points")


async def test_an_idempotency_key_retried_is_answered_once_and_reused_otherwise_is_refused() -> (
    None
):
    found = myrewards()
    world = services(LedgerWriter(ledger_of(found)))
    first = await points.create(found, world, "shop", 7, fields(), "k-1")
    again = await points.create(found, world, "shop", 7, fields(), "k-1")
    assert again == first
    with pytest.raises(ApiError) as raised:
        await points.create(found, world, "shop", 7, fields(5), "k-1")
    assert refused(raised) == (409, "idempotency_conflict")
    assert len(published(world)) == 1
    other_user = await points.create(found, world, "shop", 8, fields(), "k-1")  # its own key
    assert isinstance(other_user, TransactionCreated)
    assert other_user != first


async def test_a_transaction_the_ledger_has_not_answered_in_time_is_pending() -> None:
    world = services(lambda *_: None, wait_ms=0)
    answer = await points.create(myrewards(), world, "shop", 7, fields(), "k-2")
    assert isinstance(answer, TransactionPending)
    (command,) = published(world)
    assert isinstance(command, LedgerCommand)
    assert answer.transaction_reference == command.command_id


async def test_the_history_pages_on_after_an_id_with_the_balance_after_each() -> None:
    found = myrewards()
    ledger = ledger_of(found)
    for value in (100, -30, 5):
        ledger.book("shop", "7", value, AT)
    listed = await points.history(found, "shop", 7, after_id=0, limit=2)
    assert [(t.value, t.balance, t.user_id) for t in listed] == [(100, 100, 7), (-30, 70, 7)]
    rest = await points.history(found, "shop", 7, after_id=listed[-1].id, limit=2)
    assert [(t.value, t.balance) for t in rest] == [(5, 75)]
    last = await points.last(found, "shop", 7)
    assert (last.value, last.balance) == (5, 75)


async def test_an_unknown_user_has_no_history_and_a_user_without_transactions_no_last() -> None:
    found = myrewards()
    for read in (
        points.history(found, "shop", 9, after_id=0, limit=10),
        points.last(found, "shop", 9),
    ):
        with pytest.raises(ApiError) as raised:
            await read
        assert refused(raised) == (404, "not_found")
        assert "unknown" in raised.value.message
    assert await points.history(found, "shop", 8, after_id=0, limit=10) == []
    with pytest.raises(ApiError) as raised:
        await points.last(found, "shop", 8)
    assert "no transactions yet" in raised.value.message
