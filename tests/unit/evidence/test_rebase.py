"""A re-base's plan without a database: the corrections are the candidate's points less what the
journal holds, event by event and rule by rule; once the journal holds them, the same plan is
empty; each correction is a ledger command of variety Adjustment naming its entry and version,
with an id that depends on what it corrects; a plan that takes a balance below zero says whose."""

from datetime import UTC, datetime

from evidence.rebase import Plan, command_id_of, command_of, corrections_of, in_booking_order
from ledger.reads import BookedForRule
from processors.engine import Decision, UserState, compile_programme, decide
from schemas.events import EventV1
from schemas.ledger import TransactionType, Variety
from tests.unit.evidence.test_replay import DAY1, config, event

SINCE = datetime(2026, 4, 1, tzinfo=UTC)
UNTIL = datetime(2026, 5, 1, tzinfo=UTC)


def candidate_decision(kind: str = "read", read_points: int = 6) -> tuple[EventV1, Decision]:
    programme = compile_programme(config(2, read_points=read_points))
    happened = event("ann", kind, DAY1, {"amount": 3} if kind == "buy" else None)
    return happened, decide(happened, UserState.initial(), programme, {})


def test_a_correction_is_the_candidates_points_less_what_the_journal_holds() -> None:
    happened, decision = candidate_decision()
    [correction] = corrections_of(happened, decision, {"read": BookedForRule(4, 17)})
    assert (correction.rule_id, correction.booked, correction.candidate) == ("read", 4, 6)
    assert correction.points == 2
    assert correction.corrects_entry_id == 17
    assert correction.rule_version == 2


def test_nothing_to_correct_once_the_journal_holds_the_candidates_points() -> None:
    happened, decision = candidate_decision()
    assert list(corrections_of(happened, decision, {"read": BookedForRule(6, 17)})) == []


def test_a_rule_the_candidate_no_longer_pays_is_taken_back() -> None:
    happened, decision = candidate_decision(read_points=6)
    held = {"read": BookedForRule(6, 17), "gone": BookedForRule(5, 18)}
    [correction] = corrections_of(happened, decision, held)
    assert (correction.rule_id, correction.points, correction.rule_version) == ("gone", -5, None)


def test_a_rule_that_booked_nothing_names_the_event() -> None:
    happened, decision = candidate_decision()
    [correction] = corrections_of(happened, decision, {})
    assert correction.corrects_entry_id is None
    command = command_of("test", 2, correction)
    assert f"event {happened.event_id}" in command.bookings[0].reason


def test_allowed_to_go_negative_a_debit_says_so_and_a_credit_never_needs_to() -> None:
    happened, decision = candidate_decision()
    [debit] = corrections_of(happened, decision, {"read": BookedForRule(9, 17)})
    [credit] = corrections_of(happened, decision, {"read": BookedForRule(3, 17)})
    assert command_of("test", 2, debit, allow_negative=True).bookings[0].allow_negative
    assert not command_of("test", 2, debit).bookings[0].allow_negative
    assert not command_of("test", 2, credit, allow_negative=True).bookings[0].allow_negative


def test_a_correction_is_an_adjustment_naming_its_entry_and_version() -> None:
    happened, decision = candidate_decision()
    [correction] = corrections_of(happened, decision, {"read": BookedForRule(9, 17)})
    command = command_of("test", 2, correction)
    [booking] = command.bookings
    assert booking.variety is Variety.ADJUSTMENT
    assert booking.transaction_type is TransactionType.DEBIT
    assert booking.points == 3
    assert booking.idempotency_key == command.command_id
    assert "entry 17" in booking.reason
    assert "version 2" in booking.reason
    assert booking.lineage.source_event_id == happened.event_id
    assert booking.lineage.rule_id == "read"
    assert command.explanation == {
        "source": "rebase", "candidate_version": 2, "event_id": happened.event_id,
        "rule_id": "read", "corrects_entry_id": 17, "booked": 9, "candidate": 6,
    }  # fmt: skip


def test_the_command_id_depends_on_what_is_corrected() -> None:
    happened, decision = candidate_decision()
    [first] = corrections_of(happened, decision, {"read": BookedForRule(4, 17)})
    [again] = corrections_of(happened, decision, {"read": BookedForRule(4, 17)})
    [other] = corrections_of(happened, decision, {"read": BookedForRule(5, 17)})
    assert command_id_of("test", 2, first) == command_id_of("test", 2, again)
    assert command_id_of("test", 2, first) != command_id_of("test", 3, first)
    assert command_id_of("test", 2, first) != command_id_of("test", 2, other)
    assert command_id_of("test", 2, first).startswith("rebase:")


def test_negative_balances_and_the_order_of_booking() -> None:
    plan = Plan("test", 2, SINCE, UNTIL)
    happened, decision = candidate_decision()
    plan.add(happened, decision, {"read": BookedForRule(10, 17)})  # -4
    bought, bought_decision = candidate_decision("buy")
    plan.add(bought, bought_decision, {})  # +3
    assert plan.events == 2
    assert plan.by_user() == {"ann": -1}
    assert plan.net_points == -1
    assert plan.negative_balances({"ann": 0}) == {"ann": -1}
    assert plan.negative_balances({"ann": 1}) == {}
    assert [c.points for c in in_booking_order(plan.corrections)] == [3, -4]
