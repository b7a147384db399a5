from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.planner import needed_accounts
from schemas.ledger import OutcomeStatus, RejectionReason, Variety
from tests.unit.ledger.fixtures import MemoryLedger, booking, command

BUDGET = AccountKey.programme("prog", AccountKind.BUDGET)
REDEEMED = AccountKey.programme("prog", AccountKind.REDEEMED)


def funded_ledger(budget: int) -> MemoryLedger:
    ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(funded=True)})
    ledger.balances[BUDGET] = budget
    ledger.balances[AccountKey.programme("prog", AccountKind.FUNDING)] = -budget
    return ledger


def test_a_credit_moves_points_from_the_budget_and_sums_to_zero() -> None:
    ledger = MemoryLedger()
    [outcome] = ledger.apply(command("c1", "alice", booking("c1:r1", 100)))
    assert outcome.status is OutcomeStatus.BOOKED
    assert (outcome.points, outcome.balance_after) == (100, 100)
    assert ledger.balances[BUDGET] == -100
    assert sum(ledger.balances.values()) == 0


def test_a_funded_budget_cannot_be_overdrawn() -> None:
    ledger = funded_ledger(50)
    [outcome] = ledger.apply(command("c1", "alice", booking("c1:r1", 51)))
    assert outcome.reason_code is RejectionReason.PROGRAMME_BUDGET_EXHAUSTED
    assert outcome.reason_code.http_status == 412
    assert ledger.user_balance("alice") == 0
    assert ledger.balances[BUDGET] == 50


def test_a_debit_larger_than_the_balance_is_rejected_and_changes_nothing() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "alice", booking("c1:r1", 10)))
    [outcome] = ledger.apply(command("c2", "alice", booking("c2", 11, debit=True)))
    assert outcome.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert outcome.reason == "User does not have enough points"
    assert outcome.balance_after == 10
    assert ledger.user_balance("alice") == 10


def test_a_command_is_all_or_nothing() -> None:
    ledger = MemoryLedger()
    [outcome] = ledger.apply(command("c1", "alice", booking("a", 10), booking("b", 20, debit=True)))
    assert outcome.status is OutcomeStatus.REJECTED
    assert ledger.user_balance("alice") == 0
    assert ledger.entries == {}


def test_invalid_variety_and_type_combinations_are_rejected() -> None:
    ledger = MemoryLedger()
    invalid = [
        booking("a", 5, variety=Variety.REDEMPTION),
        booking("b", 5, debit=True, variety=Variety.ORDER_CANCELATION),
        booking("c", 5, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER),
        booking(
            "d", 5, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="alice"
        ),
        booking("e", 5, variety=Variety.ADJUSTMENT, counterparty="bob"),
        booking("f", 5, variety=Variety.ACCOUNT_CLOSURE),
    ]
    outcomes = ledger.apply(*(command(f"c{i}", "alice", b) for i, b in enumerate(invalid)))
    assert {o.reason_code for o in outcomes} == {RejectionReason.INVALID_TRANSACTION}
    assert {o.reason_code.http_status for o in outcomes if o.reason_code} == {406}


def test_a_transfer_moves_both_legs_in_one_posting() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "alice", booking("c1", 30)))
    transfer = booking(
        "t1", 12, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob"
    )
    [outcome] = ledger.apply(command("c2", "alice", transfer))
    assert (outcome.points, outcome.balance_after) == (-12, 18)
    assert ledger.user_balance("bob") == 12
    too_much = booking("t2", 13, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob")
    [refused] = ledger.apply(command("c3", "alice", too_much))
    assert refused.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert ledger.user_balance("bob") == 12


def test_duplicates_in_one_batch_and_across_batches_are_booked_once() -> None:
    ledger = MemoryLedger()
    first = command("c1", "alice", booking("c1:r1", 7))
    outcomes = ledger.apply(first, first)
    outcomes += ledger.apply(first)
    assert [o.status for o in outcomes] == [
        OutcomeStatus.BOOKED,
        OutcomeStatus.DUPLICATE,
        OutcomeStatus.DUPLICATE,
    ]
    assert {(o.points, o.balance_after) for o in outcomes} == {(7, 7)}
    assert outcomes[2].original_status is OutcomeStatus.BOOKED
    assert ledger.user_balance("alice") == 7


def test_the_same_command_id_with_another_payload_is_a_conflict() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "alice", booking("c1:r1", 7)))
    [outcome] = ledger.apply(command("c1", "alice", booking("c1:r1", 8)))
    assert outcome.reason_code is RejectionReason.IDEMPOTENCY_CONFLICT
    assert ledger.user_balance("alice") == 7
    assert ledger.outcomes["c1"].outcome.status is OutcomeStatus.BOOKED


def test_a_booking_key_repeated_by_another_command() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "alice", booking("k", 7)))
    [same, other] = ledger.apply(
        command("c2", "alice", booking("k", 7)), command("c3", "alice", booking("k", 9))
    )
    assert (same.status, same.points) == (OutcomeStatus.DUPLICATE, 7)
    assert other.reason_code is RejectionReason.IDEMPOTENCY_CONFLICT
    assert ledger.user_balance("alice") == 7


def test_reversals_never_exceed_what_they_reverse() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "alice", booking("award", 10)))
    outcomes = ledger.apply(
        command("r1", "alice", booking("r1", 6, debit=True, reverses="award")),
        command("r2", "alice", booking("r2", 5, debit=True, reverses="award")),
        command("r3", "alice", booking("r3", 4, debit=True, reverses="award")),
    )
    assert [o.reason_code for o in outcomes] == [
        None,
        RejectionReason.REVERSAL_EXCEEDS_ORIGINAL,
        None,
    ]
    assert ledger.user_balance("alice") == 0
    assert ledger.entries["award"].reversed_points == 10


def test_a_reversal_must_undo_the_same_accounts() -> None:
    ledger = MemoryLedger()
    outcomes = ledger.apply(
        command("c1", "alice", booking("award", 10)),
        command("r1", "alice", booking("r1", 5, reverses="award")),
        command(
            "r2",
            "alice",
            booking("r2", 5, debit=True, variety=Variety.REDEMPTION, reverses="award"),
        ),
        command("r3", "alice", booking("r3", 5, debit=True, reverses="missing")),
        command("r4", "alice", booking("r4", 5, debit=True, reverses="award")),
        command("r5", "alice", booking("r5", 5, reverses="r4")),
    )
    assert [o.reason_code for o in outcomes] == [
        None,
        RejectionReason.INVALID_TRANSACTION,
        RejectionReason.INVALID_TRANSACTION,
        RejectionReason.REVERSAL_TARGET_NOT_FOUND,
        None,
        RejectionReason.INVALID_TRANSACTION,
    ]
    assert ledger.user_balance("alice") == 5


def test_a_command_without_bookings_is_recorded_with_zero_points() -> None:
    ledger = MemoryLedger()
    [outcome] = ledger.apply(command("evt1", "alice"))
    assert (outcome.status, outcome.points, outcome.balance_after) == (OutcomeStatus.BOOKED, 0, 0)
    assert outcome.explanation == {"rules": ["evt1"]}
    assert "evt1" in ledger.outcomes


def test_an_unknown_programme_is_rejected() -> None:
    ledger = MemoryLedger()
    [outcome] = ledger.apply(command("c1", "alice", booking("k", 1), programme_id="nope"))
    assert outcome.reason_code is RejectionReason.UNKNOWN_PROGRAMME


def test_redeemed_points_come_back_only_as_far_as_they_were_redeemed() -> None:
    ledger = MemoryLedger()
    outcomes = ledger.apply(
        command("c1", "alice", booking("award", 10)),
        command("c2", "alice", booking("buy", 8, debit=True, variety=Variety.REDEMPTION)),
        command("c3", "alice", booking("cancel", 5, variety=Variety.ORDER_CANCELATION)),
        command("c4", "alice", booking("adjust", 4, variety=Variety.ORDER_ADJUSTMENT)),
    )
    assert [o.reason_code for o in outcomes] == [
        None,
        None,
        None,
        RejectionReason.REDEEMED_POINTS_EXCEEDED,
    ]
    assert ledger.balances[REDEEMED] == 3
    assert ledger.user_balance("alice") == 7


def test_account_closure_follows_the_programme() -> None:
    closing = booking("close", 4, debit=True, variety=Variety.ACCOUNT_CLOSURE)
    for returns, kind in ((False, AccountKind.EXPIRED), (True, AccountKind.BUDGET)):
        ledger = MemoryLedger(programmes={"prog": ProgrammePolicy(False, returns)})
        ledger.apply(command("c1", "alice", booking("award", 4)), command("c2", "alice", closing))
        expected = 0 if kind is AccountKind.BUDGET else -4
        assert ledger.balances[AccountKey.programme("prog", AccountKind.BUDGET)] == expected
        assert ledger.user_balance("alice") == 0


def test_a_command_may_book_for_several_users() -> None:
    ledger = MemoryLedger()
    claims = command("claims", "alice", booking("claims:0", 10, user="bob"), booking("claims:1", 5))
    [outcome] = ledger.apply(claims)
    assert outcome.status is OutcomeStatus.BOOKED
    # The outcome is the command's user's: alice's 5, not bob's 10.
    assert (outcome.points, outcome.balance_after) == (5, 5)
    assert (ledger.user_balance("alice"), ledger.user_balance("bob")) == (5, 10)
    assert ledger.balances[BUDGET] == -15
    assert sum(ledger.balances.values()) == 0


def test_several_users_bookings_are_all_or_nothing_against_a_funded_budget() -> None:
    ledger = funded_ledger(25)
    claims = command(
        "claims",
        "alice",
        booking("claims:0", 10, user="alice"),
        booking("claims:1", 10, user="bob"),
        booking("claims:2", 10, user="carol"),
    )
    [outcome] = ledger.apply(claims)
    assert outcome.reason_code is RejectionReason.PROGRAMME_BUDGET_EXHAUSTED
    assert [ledger.user_balance(user) for user in ("alice", "bob", "carol")] == [0, 0, 0]
    assert ledger.balances[BUDGET] == 25
    assert ledger.entries == {}
    [fits] = ledger.apply(command("fits", "alice", *claims.command.bookings[:2]))
    assert fits.status is OutcomeStatus.BOOKED
    assert ledger.balances[BUDGET] == 5


def test_another_users_debit_below_zero_refuses_the_whole_command() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "bob", booking("c1", 4)))
    [outcome] = ledger.apply(
        command("c2", "alice", booking("c2:0", 7), booking("c2:1", 5, debit=True, user="bob"))
    )
    assert outcome.reason_code is RejectionReason.INSUFFICIENT_POINTS
    assert (ledger.user_balance("alice"), ledger.user_balance("bob")) == (0, 4)


def test_a_repeated_multi_user_command_books_once() -> None:
    ledger = MemoryLedger()
    claims = command("claims", "alice", booking("claims:0", 3), booking("claims:1", 4, user="bob"))
    first, again = ledger.apply(claims, claims)
    assert (first.status, again.status) == (OutcomeStatus.BOOKED, OutcomeStatus.DUPLICATE)
    assert (ledger.user_balance("alice"), ledger.user_balance("bob")) == (3, 4)


def test_every_users_account_is_needed() -> None:
    claims = command(
        "claims",
        "alice",
        booking("claims:0", 3, user="bob"),
        booking("claims:1", 2, debit=True, variety=Variety.ACCOUNT_CLOSURE, user="carol"),
    )
    needed = needed_accounts([claims], {"prog": ProgrammePolicy(funded=False)})
    assert {key.owner_id for key in needed if key.kind is AccountKind.USER} == {
        "alice",
        "bob",
        "carol",
    }
    assert AccountKey.programme("prog", AccountKind.EXPIRED) in needed


def test_a_booking_for_another_user_transfers_from_that_user() -> None:
    ledger = MemoryLedger()
    ledger.apply(command("c1", "bob", booking("c1", 9)))
    transfer = booking(
        "t1", 4, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="carol"
    )
    [outcome] = ledger.apply(command("t1", "alice", transfer.model_copy(update={"user_id": "bob"})))
    assert outcome.status is OutcomeStatus.BOOKED
    assert [ledger.user_balance(user) for user in ("alice", "bob", "carol")] == [0, 5, 4]
    to_self = booking(
        "t2", 1, debit=True, variety=Variety.PERSON_TO_PERSON_TRANSFER, counterparty="bob"
    )
    [refused] = ledger.apply(command("t2", "alice", to_self.model_copy(update={"user_id": "bob"})))
    assert refused.reason_code is RejectionReason.INVALID_TRANSACTION
