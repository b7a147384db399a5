"""Returns in the planner (`ledger.core.returns`): the share of the original's awards, the
spent-points policies, over-returns and unknown originals, rule budgets and lots given back."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import IncomingCommand
from ledger.core.expiry import expiry_policy
from ledger.core.returns import (
    Original,
    OriginalAward,
    SpentPoints,
    plan_return,
    share_of_award,
)
from schemas.ledger import (
    Booking,
    LedgerCommand,
    Lineage,
    OutcomeStatus,
    ReturnRequest,
    TransactionType,
    Variety,
)
from schemas.programme import PointsExpiry
from schemas.reasons import ReasonCode
from tests.unit.ledger.fixtures import MemoryLedger, booking, command

BUDGET = AccountKey.programme("prog", AccountKind.BUDGET)


def ledger_with(spent_points: str = "shortfall", **rule_budgets: int) -> MemoryLedger:
    policy = ProgrammePolicy(funded=False, rule_budgets=rule_budgets, spent_points=spent_points)
    return MemoryLedger(programmes={"prog": policy})


def award(event_id: str, rule: str, points: int, day: str = "2026-01-01") -> Booking:
    """An award as the processors book it: keyed `event_id:rule_id`, naming its event."""
    return Booking(
        idempotency_key=f"{event_id}:{rule}",
        transaction_type=TransactionType.CREDIT,
        variety=Variety.PROGRAMME_POINTS,
        points=points,
        reason=f"earned with {rule}",
        lineage=Lineage(
            source_event_id=event_id,
            rule_id=rule,
            rule_version=1,
            occurred_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
        ),
    )


def earn(ledger: MemoryLedger, event_id: str, amount: int, *awards: tuple[str, int]) -> None:
    bookings = [award(event_id, rule, points) for rule, points in awards]
    [outcome] = ledger.apply(command(event_id, "alice", *bookings))
    assert outcome.status is OutcomeStatus.BOOKED
    ledger.amounts[event_id] = Decimal(amount)


def return_of(
    command_id: str, original: str, amount: str, rules: tuple[str, ...] = ("r1", "r2")
) -> IncomingCommand:
    return IncomingCommand.of(
        LedgerCommand(
            command_id=command_id,
            programme_id="prog",
            user_id="alice",
            source_event_id=command_id,
            explanation={"status": "no_points"},
            returning=ReturnRequest(
                original_event_id=original,
                award_keys=[f"{original}:{rule}" for rule in rules],
                field="amount",
                amount=Decimal(amount),
            ),
        )
    )


def spend(ledger: MemoryLedger, command_id: str, points: int) -> None:
    redemption = booking(command_id, points, debit=True, variety=Variety.REDEMPTION)
    [outcome] = ledger.apply(command(command_id, "alice", redemption))
    assert outcome.status is OutcomeStatus.BOOKED


def test_a_partial_return_takes_back_its_share_rounded_down_as_return_entries() -> None:
    ledger = ledger_with()
    earn(ledger, "buy", 100, ("r1", 150))
    [outcome] = ledger.apply(return_of("ret1", "buy", "30"))
    assert (outcome.status, outcome.points, outcome.balance_after) == (
        OutcomeStatus.BOOKED, -45, 105,
    )  # fmt: skip
    entry = ledger.entries["ret1:r1"]
    assert (entry.debit, entry.credit, entry.points) == (
        AccountKey.user("prog", "alice"), BUDGET, 45,
    )  # fmt: skip
    assert ledger.entries["buy:r1"].reversed_points == 45
    assert isinstance(outcome.explanation, dict)
    assert outcome.explanation["returned"] == {
        "original_event_id": "buy", "amount": "30", "points": 45, "shortfall": 0,
        "counted": True,
    }  # fmt: skip


def test_returns_in_parts_add_up_to_the_award_and_an_over_return_is_refused() -> None:
    ledger = ledger_with()
    earn(ledger, "buy", 3, ("r1", 10))
    first, second = ledger.apply(return_of("ret1", "buy", "1"), return_of("ret2", "buy", "1"))
    [third] = ledger.apply(return_of("ret3", "buy", "1.5"))
    [fourth] = ledger.apply(return_of("ret4", "buy", "1"))
    assert [first.points, second.points, fourth.points] == [-3, -3, -4]
    assert ledger.user_balance("alice") == 0
    assert (third.status, third.points) == (OutcomeStatus.BOOKED, 0)
    assert isinstance(third.explanation, dict)
    assert third.explanation["reason_code"] == ReasonCode.OVER_RETURN
    [repeat] = ledger.apply(return_of("ret1", "buy", "1"))
    assert (repeat.status, repeat.points) == (OutcomeStatus.DUPLICATE, -3)
    assert ledger.returned[("prog", "alice", "buy")] == Decimal(3)


def test_a_return_of_an_unknown_original_takes_nothing() -> None:
    ledger = ledger_with()
    [outcome] = ledger.apply(return_of("ret1", "nothing", "5"))
    assert (outcome.status, outcome.points) == (OutcomeStatus.BOOKED, 0)
    assert isinstance(outcome.explanation, dict)
    assert outcome.explanation["reason_code"] == ReasonCode.UNKNOWN_ORIGINAL
    assert ledger.returned == {}


def test_spent_points_under_shortfall_take_what_is_there_and_record_the_rest() -> None:
    ledger = ledger_with("shortfall")
    earn(ledger, "buy", 100, ("r1", 100))
    spend(ledger, "redeem", 80)
    [outcome] = ledger.apply(return_of("ret1", "buy", "100"))
    assert (outcome.points, outcome.balance_after) == (-20, 0)
    assert isinstance(outcome.explanation, dict)
    assert outcome.explanation["reason_code"] == ReasonCode.RETURN_SHORTFALL
    assert outcome.explanation["returned"]["shortfall"] == 80  # type: ignore[index,call-overload]


def test_spent_points_under_negative_balance_take_it_all() -> None:
    ledger = ledger_with("negative_balance")
    earn(ledger, "buy", 100, ("r1", 100))
    spend(ledger, "redeem", 80)
    [outcome] = ledger.apply(return_of("ret1", "buy", "100"))
    assert (outcome.points, outcome.balance_after) == (-100, -80)
    [redemption] = ledger.apply(
        command("more", "alice", booking("more", 1, debit=True, variety=Variety.REDEMPTION))
    )
    assert redemption.status is OutcomeStatus.REJECTED
    earn(ledger, "later", 10, ("r1", 100))
    assert ledger.user_balance("alice") == 20


def test_a_return_gives_back_the_rule_budget_it_used() -> None:
    ledger = ledger_with(r1=100)
    earn(ledger, "buy", 10, ("r1", 100))
    assert ledger.rule_usage[("prog", "r1")] == 100
    ledger.apply(return_of("ret1", "buy", "4", rules=("r1",)))
    assert ledger.rule_usage[("prog", "r1")] == 60


def test_a_return_takes_back_from_its_awards_own_lots_first() -> None:
    expiry = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "UTC")
    ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=expiry)})
    ledger.apply(command("old", "alice", award("old", "r1", 50, "2026-01-01")))
    ledger.apply(command("buy", "alice", award("buy", "r1", 50, "2026-01-10")))
    ledger.amounts["buy"] = Decimal(10)
    [outcome] = ledger.apply(return_of("ret1", "buy", "4", rules=("r1",)))
    assert outcome.points == -20
    assert ledger.lots[AccountKey.user("prog", "alice")] == (
        ("2026-01-31", 50), ("2026-02-09", 30),
    )  # fmt: skip


def test_when_its_awards_lots_are_spent_a_return_takes_the_earliest_expiring() -> None:
    expiry = expiry_policy(PointsExpiry(policy="days_after_earning", days=30), "UTC")
    ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=False, expiry=expiry)})
    ledger.apply(command("old", "alice", award("old", "r1", 50, "2026-01-01")))
    ledger.apply(command("buy", "alice", award("buy", "r1", 50, "2026-01-10")))
    spend(ledger, "redeem", 90)  # all of the first lot, 40 of the second
    ledger.amounts["buy"] = Decimal(10)
    [outcome] = ledger.apply(return_of("ret1", "buy", "4", rules=("r1",)))
    assert (outcome.points, outcome.balance_after) == (-10, 0)
    assert AccountKey.user("prog", "alice") not in ledger.lots


def test_the_share_of_a_full_return_is_the_whole_award() -> None:
    assert share_of_award(7, Decimal(3), Decimal(0), Decimal(3)) == 7
    assert share_of_award(7, Decimal(3), Decimal(1), Decimal(2)) == 2  # floor(14/3) - floor(7/3)


_AWARDS = st.lists(st.integers(1, 10_000), min_size=1, max_size=3)
_PARTS = st.lists(st.integers(1, 50), min_size=1, max_size=8)


@given(_AWARDS, st.integers(1, 100), _PARTS, st.integers(-50, 30_000), st.booleans())
def test_returns_never_take_back_more_than_was_awarded(
    awards: list[int], amount: int, parts: list[int], balance: int, negative: bool
) -> None:
    held = [
        OriginalAward(f"e:r{index}", f"r{index}", points, points, None)
        for index, points in enumerate(awards)
    ]
    returned, taken, shortfall = Decimal(0), 0, 0
    for part in parts:
        original = Original(True, tuple(held), Decimal(amount), returned)
        policy: SpentPoints = "negative_balance" if negative else "shortfall"
        plan = plan_return(original, Decimal(part), balance, policy)
        if not plan.counts:
            assert plan.reason_code is ReasonCode.OVER_RETURN
            assert returned + part > amount
            continue
        returned += part
        took = sum(take.points for take in plan.takes)
        if not negative:
            assert took <= max(balance, 0)  # never below zero under shortfall
        balance -= took
        taken += took
        shortfall += plan.shortfall
        held = [
            award._replace(available=award.available - sum(
                t.points for t in plan.takes if t.award.key == award.key))
            for award in held
        ]  # fmt: skip
        assert all(award.available >= 0 for award in held)
    assert taken + shortfall <= sum(awards)
    if returned == amount:
        assert taken + shortfall == sum(awards)


def test_a_return_booking_is_the_booking_validation_would_build() -> None:
    ledger = ledger_with("negative_balance")
    earn(ledger, "buy", 10, ("r1", 100))
    [outcome] = ledger.apply(return_of("ret1", "buy", "5"))
    assert outcome.points == -50
    built = ledger.booked["ret1:r1"]
    validated = Booking.model_validate(built.model_dump())
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert (built.variety, built.reverses, built.allow_negative) == (Variety.RETURN, "buy:r1", True)
