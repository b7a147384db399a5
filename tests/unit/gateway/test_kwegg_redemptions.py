"""Offer redemptions as ledger commands, and the Kwegg views of offers and transactions."""

from datetime import UTC, datetime, timedelta

from gateway.kwegg import views
from gateway.kwegg.offers import Offer
from gateway.kwegg.redeeming import redemption_command, redemption_id
from ledger.queries import Transaction
from schemas.ledger import CommandOutcome, OutcomeStatus, TransactionType, Variety

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
OFFER = Offer("coffee", "Free coffee", "", 150, True, None, NOW)


def test_a_reference_names_one_redemption_whatever_the_offer() -> None:
    assert redemption_id("p", "u", "ref-1") == redemption_id("p", "u", "ref-1")
    assert redemption_id("p", "u", "ref-1") != redemption_id("p", "v", "ref-1")
    assert redemption_id("p", "u", "ref-1") != redemption_id("q", "u", "ref-1")
    assert redemption_id("p", "u", None) != redemption_id("p", "u", None)


def test_the_command_debits_the_offers_points_as_a_redemption() -> None:
    command = redemption_command("p", "tenant", "u", OFFER, "ref-1")
    (booking,) = command.bookings
    assert (command.programme_id, command.user_id) == ("p", "u")
    assert booking.transaction_type is TransactionType.DEBIT
    assert booking.variety is Variety.REDEMPTION
    assert booking.points == 150
    assert booking.idempotency_key == f"{command.command_id}:redemption"
    assert booking.remote_transaction_id == "ref-1"
    again = redemption_command("p", "tenant", "u", OFFER, "ref-1")
    assert again.model_dump_json() == command.model_dump_json()  # a retry is a duplicate


def test_an_offers_status() -> None:
    assert OFFER.status(NOW) == "ACTIVE"
    ended = Offer("old", "Old", "", 1, True, NOW, NOW - timedelta(days=1))
    assert ended.status(NOW) == "EXPIRED"
    assert ended.status(NOW - timedelta(seconds=1)) == "ACTIVE"
    assert Offer("off", "Off", "", 1, False, None, NOW).status(NOW) == "INACTIVE"


def transaction(value: int, variety: str) -> Transaction:
    return Transaction(7, "u", "why", value, 40, "", variety, None, None, "key", NOW)


def test_transactions_in_kweggs_words() -> None:
    earned = views.transaction(transaction(2, Variety.PROGRAMME_POINTS.value))
    assert (earned.id, earned.entry, earned.type, earned.points) == (
        "7",
        "CREDIT",
        "EVENT_OCCURENCE",
        2,
    )
    spent = views.transaction(transaction(-150, Variety.REDEMPTION.value))
    assert (spent.entry, spent.type, spent.points) == ("DEBIT", "REDEMPTION", 150)
    moved = views.transaction(transaction(5, Variety.PERSON_TO_PERSON_TRANSFER.value))
    assert moved.type == "PERSON_2_PERSON_TRANSFER"


def test_a_redemption_answer_is_pending_until_the_ledger_answers() -> None:
    assert views.redemption("kwr_1", "coffee", 150, None).status == "pending"
    booked = CommandOutcome(
        command_id="kwr_1", status=OutcomeStatus.BOOKED, points=-150, balance_after=350
    )
    answer = views.redemption("kwr_1", "coffee", 150, booked)
    assert (answer.status, answer.points, answer.balance) == ("processed", 150, 350)
