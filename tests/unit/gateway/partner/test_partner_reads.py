"""The mgPass partner API's reads apart from HTTP and Postgres (`gateway.partner.reading`): an
event's outcome through an in-memory `StoredOutcomes`, a user's balance, transactions and tier
through an in-memory ledger (tests/unit/gateway/ledger_fakes.py). The real routes and ledger:
tests/e2e/test_partner_api.py, tests/e2e/test_partner_contract.py."""

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.errors import ApiError
from gateway.partner import reading
from ledger.reads import Expiring, TierAssignment, TierChangeRow
from schemas.ledger import CommandOutcome, OutcomeStatus
from schemas.programme import ProgrammeConfig
from tests.unit.gateway.ledger_fakes import FakeUserLedger
from tests.unit.gateway.publishing.fakes import FakeStored

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PROGRAMME = ProgrammeConfig.model_validate(
    {
        "programme_id": "shop",
        "version": 1,
        "tiers": [{"name": "blue"}, {"name": "gold"}],
        "default_tier": "blue",
    }
)


def ledger_with_history() -> FakeUserLedger:
    """u1 of shop: +50 a day before NOW, -20 an hour before; u9 of another programme."""
    ledger = FakeUserLedger()
    ledger.book("shop", "u1", 50, NOW - timedelta(days=1))
    ledger.book("shop", "u1", -20, NOW - timedelta(hours=1), variety="Redemption")
    ledger.book("other", "u9", 70, NOW - timedelta(days=1))
    return ledger


def refused(raised: pytest.ExceptionInfo[ApiError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


async def test_an_events_outcome_is_answered_with_its_explanation() -> None:
    stored = FakeStored()
    stored.outcomes["e-1"] = CommandOutcome(
        command_id="e-1", status=OutcomeStatus.BOOKED, points=5, balance_after=15,
        explanation={"rules": [{"rule_id": "r", "matched": True}]},
    )  # fmt: skip
    found = await reading.event_outcome(stored, "shop", "e-1")
    assert (found.event_id, found.status, found.points_awarded) == ("e-1", "processed", 5)
    assert (found.balance_after, found.explanation) == (
        15,
        {"rules": [{"rule_id": "r", "matched": True}]},
    )
    with pytest.raises(ApiError) as raised:
        await reading.event_outcome(stored, "shop", "e-2")
    assert refused(raised) == (404, "not_found")


async def test_the_balance_now_is_the_users_holdings() -> None:
    ledger = ledger_with_history()
    ledger.expiring["shop", "u1"] = [Expiring(date(2027, 1, 1), NOW + timedelta(days=28), 30)]
    found = await reading.balance(ledger, "shop", "u1", None, NOW)
    assert (found.user_id, found.balance, found.available, found.as_of) == ("u1", 30, 30, None)
    assert [(each.expires_on, each.points) for each in found.expiring] == [(date(2027, 1, 1), 30)]


@pytest.mark.parametrize("as_of", [None, NOW - timedelta(days=2)])
async def test_a_user_of_another_programme_or_never_booked_is_unknown(
    as_of: datetime | None,
) -> None:
    ledger = ledger_with_history()
    for user_id in ("u9", "nobody"):
        with pytest.raises(ApiError) as raised:
            await reading.balance(ledger, "shop", user_id, as_of, NOW)
        assert refused(raised) == (404, "not_found")
        assert user_id in raised.value.message


@pytest.mark.parametrize(
    ("ago", "points"),
    [(timedelta(days=2), 0), (timedelta(hours=2), 50), (timedelta(0), 30)],
)
async def test_the_balance_as_of_an_instant_counts_the_entries_booked_by_then(
    ago: timedelta, points: int
) -> None:
    found = await reading.balance(ledger_with_history(), "shop", "u1", NOW - ago, NOW)
    assert (found.balance, found.as_of, found.available) == (points, NOW - ago, None)


async def test_a_balance_as_of_a_future_instant_is_refused_before_any_read() -> None:
    ledger = ledger_with_history()
    with pytest.raises(ApiError) as raised:
        await reading.balance(ledger, "shop", "u1", NOW + timedelta(seconds=1), NOW)
    assert refused(raised) == (400, "invalid_request")
    assert "is in the future" in raised.value.message
    assert ledger.reads == []


async def test_transactions_are_paged_oldest_first_with_their_total() -> None:
    ledger = ledger_with_history()
    first = await reading.transactions(ledger, "shop", "u1", page=1, num_of_items=1)
    second = await reading.transactions(ledger, "shop", "u1", page=2, num_of_items=1)
    assert [(t.value, t.balance) for t in first.transactions + second.transactions] == [
        (50, 50), (-20, 30),
    ]  # fmt: skip
    assert first.totalCount == second.totalCount == 2
    beyond = await reading.transactions(ledger, "shop", "u1", page=3, num_of_items=1)
    assert (beyond.transactions, beyond.totalCount) == ([], 2)


async def test_the_last_transaction_carries_the_current_balance() -> None:
    found = await reading.last_transaction(ledger_with_history(), "shop", "u1")
    assert (found.value, found.balance, found.variety) == (-20, 30, "Redemption")


async def test_a_user_without_transactions_in_the_programme_has_none_to_list() -> None:
    ledger = ledger_with_history()
    with pytest.raises(ApiError) as raised:
        await reading.transactions(ledger, "shop", "u9", page=1, num_of_items=10)
    assert refused(raised) == (404, "not_found")
    with pytest.raises(ApiError) as raised:
        await reading.last_transaction(ledger, "shop", "u9")
    assert refused(raised) == (404, "not_found")


async def test_a_tier_assigned_is_answered_with_its_changes_newest_first_up_to_the_limit() -> None:
    ledger = FakeUserLedger()
    user = ("shop", "u2")  # never booked for: a tier set by hand makes the user known
    ledger.tiers[user] = TierAssignment("gold", "e-2", NOW, "threshold_crossed", date(2027, 1, 1))
    ledger.changes[user] = [
        TierChangeRow("e-2", "blue", "gold", "threshold_crossed", date(2027, 1, 1), NOW),
        TierChangeRow("e-1", "", "blue", "manual", None, NOW - timedelta(days=9)),
    ]
    found = await reading.tier(ledger, PROGRAMME, "shop", "u2", limit=1)
    assert (found.tier, found.review_on) == ("gold", date(2027, 1, 1))
    assert [(c.from_tier, c.tier, c.event_id) for c in found.changes] == [("blue", "gold", "e-2")]


async def test_a_user_booked_for_without_a_tier_is_in_the_default_tier() -> None:
    found = await reading.tier(ledger_with_history(), PROGRAMME, "shop", "u1", limit=20)
    assert (found.user_id, found.tier, found.review_on, found.changes) == ("u1", "blue", None, [])


async def test_a_tier_of_an_unknown_user_or_before_the_configuration_is_not_found() -> None:
    ledger = ledger_with_history()
    with pytest.raises(ApiError) as raised:
        await reading.tier(ledger, PROGRAMME, "shop", "u9", limit=20)
    assert refused(raised) == (404, "not_found")
    assert "unknown" in raised.value.message
    with pytest.raises(ApiError) as raised:
        await reading.tier(ledger, None, "shop", "u1", limit=20)
    assert refused(raised) == (404, "not_found")
    assert "no configuration" in raised.value.message
