"""MyRewards points transactions (seed 002) apart from HTTP: one transaction is one ledger command
with one booking, handed to the ledger and answered through the shared path's in-memory ports
(tests/unit/gateway/publishing/fakes.py). A retry with an Idempotency-Key also compares the
stored command's digest in Postgres: tests/e2e/test_myrewards.py."""

from gateway.myrewards import transactions
from gateway.myrewards.models import TransactionFields
from schemas.events import EventV1
from schemas.ledger import (
    CommandOutcome,
    LedgerCommand,
    OutcomeStatus,
    RejectionReason,
    TransactionType,
    Variety,
)
from tests.unit.gateway.publishing.fakes import Ledger, published, services

FIELDS = TransactionFields.model_validate(
    {"transaction_type": "Credit", "variety": "Programme Points", "points": 100,
     "reason": "Employee of the month", "remote_transaction_id": "hr-7"}
)  # fmt: skip


def answers(status: OutcomeStatus, points: int, reason: RejectionReason | None = None) -> Ledger:
    def ledger(command_id: str, record: EventV1 | LedgerCommand) -> CommandOutcome:
        return CommandOutcome(
            command_id=command_id, status=status, points=points, reason_code=reason
        )

    return ledger


def test_a_transaction_is_one_command_with_one_booking_and_no_clock() -> None:
    command_id = transactions.command_id_for("shop", 123, "key-1")
    command = transactions.command_for("shop", 123, FIELDS, command_id)
    assert command == transactions.command_for("shop", 123, FIELDS, command_id)  # a retry's
    assert (command.programme_id, command.user_id) == ("shop", "123")
    (booking,) = command.bookings
    assert (booking.transaction_type, booking.variety, booking.points) == (
        TransactionType.CREDIT, Variety.PROGRAMME_POINTS, 100,
    )  # fmt: skip
    assert (booking.idempotency_key, booking.remote_transaction_id) == (command_id, "hr-7")


def test_an_idempotency_key_names_one_transaction_of_one_user_in_one_programme() -> None:
    ids = {
        transactions.command_id_for(programme, user, key)
        for programme, user, key in (("shop", 1, "k"), ("shop", 2, "k"), ("mall", 1, "k"))
    }
    assert len(ids) == 3
    assert transactions.command_id_for("shop", 1, "k") in ids
    assert transactions.command_id_for("shop", 1, None) != transactions.command_id_for(
        "shop", 1, None
    )


async def test_a_transaction_is_published_once_and_answered_with_the_ledgers_outcome() -> None:
    world = services(answers(OutcomeStatus.BOOKED, 100))
    command = transactions.command_for(
        "shop", 123, FIELDS, transactions.command_id_for("shop", 123, None)
    )
    outcome = await transactions.book(world, command, retry=False)
    assert outcome is not None
    assert (outcome.status, outcome.points) == (OutcomeStatus.BOOKED, 100)
    assert published(world) == [command]


async def test_a_refusal_is_the_ledgers_and_a_late_outcome_is_none() -> None:
    refused = services(
        answers(OutcomeStatus.REJECTED, 0, RejectionReason.PROGRAMME_BUDGET_EXHAUSTED)
    )
    command = transactions.command_for(
        "shop", 123, FIELDS, transactions.command_id_for("shop", 123, None)
    )
    outcome = await transactions.book(refused, command, retry=False)
    assert outcome is not None
    assert outcome.reason_code is RejectionReason.PROGRAMME_BUDGET_EXHAUSTED
    late = services(lambda _id, _record: None, wait_ms=20)
    assert await transactions.book(late, command, retry=False) is None
