"""Points transactions: one MyRewards transaction is one LedgerCommand with one Booking, sent to
`ledger-commands.v1` and answered once the ledger writer has booked (or refused) it.

Idempotency: the seed puts no constraint on `remote_transaction_id` (the client's own reference,
which may repeat), so it is not a key. A client that retries sends an `Idempotency-Key` header:
the command id (and the booking's idempotency key) is then derived from the programme, the user
and that key, and a retry is answered with the original transaction's id (or its refusal) and
books nothing more, also when the two requests race; the same key sent with another transaction
is refused with 409 `idempotency_conflict`. Without the header every request is a new
transaction, as in MyRewards. The transaction id is the ledger entry's id, the `id` that the
transaction lists show. What the API's transaction calls do with it: `gateway.myrewards.points`."""

from typing import Protocol

from gateway.dependencies import Services
from gateway.errors import Rejected
from gateway.myrewards.models import TransactionFields
from gateway.publishing.answering import book_command
from gateway.user_ledger import PostgresUserLedger
from schemas.events import scoped_id
from schemas.ledger import Booking, CommandOutcome, LedgerCommand, RejectionReason

COMMAND_PREFIX = "myrewards:"
RETRY = "the transaction could not be stored; retry with the same Idempotency-Key"
IDEMPOTENCY_KEY_LENGTH_MAX = 256


def command_id_for(programme_id: str, user_id: int, idempotency_key: str | None) -> str:
    return scoped_id(
        COMMAND_PREFIX, (programme_id, user_id), idempotency_key, separator="\x00", length=40
    )


def ledger_user_id(user_id: int) -> str:
    return str(user_id)


def command_for(
    programme_id: str, user_id: int, fields: TransactionFields, command_id: str
) -> LedgerCommand:
    """No clock in the payload: a retry with the same Idempotency-Key builds the same command,
    which the ledger recognises as a duplicate rather than a conflict."""
    counterparty = fields.counterparty_user_id
    booking = Booking(
        idempotency_key=command_id,
        transaction_type=fields.transaction_type,
        variety=fields.variety,
        points=fields.points,
        reason=fields.reason,
        remote_transaction_id=fields.remote_transaction_id,
        counterparty_user_id=None if counterparty is None else ledger_user_id(counterparty),
    )
    return LedgerCommand(
        command_id=command_id,
        programme_id=programme_id,
        user_id=ledger_user_id(user_id),
        bookings=[booking],
        explanation={"source": "myrewards", "api": "POST /api/v1/users/{user_id}/transactions"},
    )


class StoredCommands(Protocol):
    async def command_is_another(self, command: LedgerCommand) -> bool:
        """Whether the outcome stored under the command's id is of another command."""


async def book(
    services: Services,
    command: LedgerCommand,
    *,
    retry: bool,
    ledger: StoredCommands | None = None,
) -> CommandOutcome | None:
    """The ledger's outcome, or None if it is not known within the gateway's deadline.
    `retry`: the command id may have been used before (an Idempotency-Key was given); the
    outcome is then checked to be this very transaction's in `ledger` (the gateway's Postgres
    unless given), 409 `idempotency_conflict` if the key was used for another one."""
    outcome = await book_command(services, command, RETRY, look_first=retry)
    if outcome is not None and retry:
        stored = ledger or PostgresUserLedger(services.pool)
        if await stored.command_is_another(command):
            raise Rejected.of(
                RejectionReason.IDEMPOTENCY_CONFLICT,
                "the Idempotency-Key was used for another transaction",
            )
    return outcome
