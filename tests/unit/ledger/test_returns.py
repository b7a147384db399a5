"""Returns in the planner (`ledger.core.returns`): the share of the original's awards, the
spent-points policies, over-returns and unknown originals, rule budgets and lots given back,
and pending awards: a return cancels its share from the pending lot first."""

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
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
    PendingTerms,
    ReturnRequest,
    TransactionType,
    Variety,
)
from schemas.programme import PointsExpiry
from schemas.reasons import ReasonCode
from tests.unit.ledger.fixtures import MemoryLedger, booking, command
from tests.unit.ledger.test_pending import run_release

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
        "original_event_id": "buy", "amount": "30", "points": 45, "pending_cancelled": 0,
        "shortfall": 0, "counted": True,
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


PENDING = AccountKey.programme("prog", AccountKind.PENDING)
ALICE = AccountKey.user("prog", "alice")


def earn_pending(ledger: MemoryLedger, event_id: str, amount: int, rule: str, points: int) -> None:
    """A pending award (return window to 15 March), as the processors book it."""
    terms = PendingTerms(release_on=date(2026, 3, 15), reference_id=f"order_{event_id}")
    held = award(event_id, rule, points).model_copy(update={"pending": terms})
    [outcome] = ledger.apply(command(event_id, "alice", held))
    assert outcome.status is OutcomeStatus.BOOKED
    ledger.amounts[event_id] = Decimal(amount)


def test_a_return_of_a_pending_award_cancels_its_share_from_the_pending_lot() -> None:
    ledger = ledger_with(r1=1000)
    earn_pending(ledger, "buy", 100, "r1", 150)
    [outcome] = ledger.apply(return_of("ret1", "buy", "30", rules=("r1",)))
    assert (outcome.status, outcome.points, outcome.balance_after) == (OutcomeStatus.BOOKED, 0, 0)
    cancellation = ledger.entries["ret1:r1:pending"]
    assert (cancellation.debit, cancellation.credit, cancellation.points) == (PENDING, BUDGET, 45)
    assert ledger.booked["ret1:r1:pending"].reverses == "buy:r1"
    assert "ret1:r1" not in ledger.entries  # nothing taken from the balance
    assert [lot.points for lot in ledger.pending[ALICE]] == [105]
    assert (ledger.balances[PENDING], ledger.balances[BUDGET]) == (105, -105)
    assert ledger.rule_usage[("prog", "r1")] == 105  # the cancelled share's budget given back
    assert isinstance(outcome.explanation, dict)
    returned = outcome.explanation["returned"]
    assert isinstance(returned, dict)
    assert (returned["points"], returned["pending_cancelled"]) == (0, 45)
    assert outcome.explanation["status"] == "returned"


def test_a_cancelled_share_is_never_released_and_the_rest_returns_from_the_balance() -> None:
    ledger = ledger_with()
    earn_pending(ledger, "buy", 100, "r1", 150)
    ledger.apply(return_of("ret1", "buy", "30", rules=("r1",)))
    assert run_release(ledger, date(2026, 3, 15)) == 105  # only what the return left
    assert ledger.user_balance("alice") == 105
    assert ALICE not in ledger.pending
    [outcome] = ledger.apply(return_of("ret2", "buy", "70", rules=("r1",)))
    assert (outcome.points, outcome.balance_after) == (-105, 0)
    entry = ledger.entries["ret2:r1"]
    assert (entry.debit, entry.credit, entry.points) == (ALICE, BUDGET, 105)
    assert "ret2:r1:pending" not in ledger.entries
    assert ledger.entries["buy:r1"].reversed_points == 150  # the whole award, once
    [over] = ledger.apply(return_of("ret3", "buy", "1", rules=("r1",)))
    assert (over.points, over.explanation["reason_code"]) == (0, "over_return")  # type: ignore[index,call-overload]


def test_the_spent_points_policy_applies_to_the_available_part_only() -> None:
    ledger = ledger_with("shortfall")
    earn(ledger, "buy", 10, ("r1", 50))
    ledger.apply(command("buy-p", "alice", award("buy", "r2", 30).model_copy(
        update={"pending": PendingTerms(release_on=date(2026, 3, 15), reference_id="o")}
    )))  # fmt: skip
    spend(ledger, "redeem", 40)
    [outcome] = ledger.apply(return_of("ret1", "buy", "10"))
    assert (outcome.points, outcome.balance_after) == (-10, 0)
    assert ledger.entries["ret1:r2:pending"].points == 30
    assert ALICE not in ledger.pending
    assert ledger.balances[PENDING] == 0
    assert outcome.explanation["returned"]["shortfall"] == 40  # type: ignore[index,call-overload]
    assert outcome.explanation["returned"]["pending_cancelled"] == 30  # type: ignore[index,call-overload]


def test_a_repeated_return_cancels_nothing_more() -> None:
    ledger = ledger_with()
    earn_pending(ledger, "buy", 100, "r1", 150)
    incoming = return_of("ret1", "buy", "30", rules=("r1",))
    [first] = ledger.apply(incoming)
    [again] = ledger.apply(incoming)
    assert again.points == first.points == 0
    assert [lot.points for lot in ledger.pending[ALICE]] == [105]
    assert ledger.balances[PENDING] == 105


def test_a_refused_return_cancels_nothing() -> None:
    ledger = ledger_with()
    earn_pending(ledger, "buy", 100, "r1", 150)
    [outcome] = ledger.apply(return_of("ret1", "buy", "101", rules=("r1",)))
    assert outcome.points == 0
    assert [lot.points for lot in ledger.pending[ALICE]] == [150]
    assert "ret1:r1:pending" not in ledger.entries


_PENDING_AWARDS = st.lists(st.tuples(st.integers(1, 5_000), st.booleans()), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    _PENDING_AWARDS,
    st.integers(1, 100),
    _PARTS,
    st.integers(0, 8),
    st.integers(0, 5_000),
    st.booleans(),
)
def test_returns_never_take_back_more_than_was_awarded_pending_and_available_together(
    awards: list[tuple[int, bool]],
    amount: int,
    parts: list[int],
    release_after: int,
    spent: int,
    negative: bool,
) -> None:
    """Returns interleaved with the release of the pending awards (after `release_after`
    returns): what they cancel and take, with the shortfall, never exceeds the awards, a full
    return takes them all, and a cancelled share is never released."""
    ledger = ledger_with("negative_balance" if negative else "shortfall")
    rules = tuple(f"r{index}" for index in range(len(awards)))
    terms = PendingTerms(release_on=date(2026, 3, 15), reference_id="order")
    bookings = [
        award("buy", rule, points).model_copy(update={"pending": terms if pending else None})
        for rule, (points, pending) in zip(rules, awards, strict=True)
    ]
    [earned] = ledger.apply(command("buy", "alice", *bookings))
    assert earned.points == sum(points for points, _ in awards)
    ledger.amounts["buy"] = Decimal(amount)
    held_back = sum(points for points, pending in awards if pending)
    if spent and ledger.user_balance("alice") >= spent:
        spend(ledger, "redeem", spent)
    released = cancelled = taken = shortfall = 0
    returned = Decimal(0)
    for index, part in enumerate([*parts, 0]):
        if index == release_after or index == len(parts):
            released += run_release(ledger, date(2026, 3, 15))
        if index == len(parts):
            break
        [outcome] = ledger.apply(return_of(f"ret{index}", "buy", str(part), rules=rules))
        assert isinstance(outcome.explanation, dict)
        explained = outcome.explanation["returned"]
        assert isinstance(explained, dict)
        assert isinstance(explained["pending_cancelled"], int)
        assert isinstance(explained["shortfall"], int)
        cancelled += explained["pending_cancelled"]
        taken -= outcome.points
        shortfall += explained["shortfall"]
        if explained["counted"]:
            returned += part
        assert ledger.balances.get(PENDING, 0) == sum(
            lot.points for lot in ledger.pending.get(ALICE, ())
        )
    assert released + cancelled == held_back  # each pending point released or cancelled once
    assert cancelled + taken + shortfall <= sum(points for points, _ in awards)
    if returned == amount:
        assert cancelled + taken + shortfall == sum(points for points, _ in awards)
