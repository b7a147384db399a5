"""What the MyRewards points transaction calls do, apart from HTTP (seed 002): credit or debit a
user (or transfer to another), list a user's transactions, and read the latest. The users and
the ledger's reads come through the slice's ports (`gateway.myrewards.ports`); a transaction is
booked and answered through the shared path's ports, held by the gateway's services. How a
transaction becomes a ledger command, and its idempotency: `gateway.myrewards.transactions`."""

from gateway.dependencies import Services
from gateway.errors import NotFound, Rejected
from gateway.myrewards import transactions
from gateway.myrewards.models import (
    MyRewardsTransaction,
    TransactionCreated,
    TransactionFields,
    TransactionPending,
)
from gateway.myrewards.ports import MyRewardsStores
from schemas.ledger import OutcomeStatus, RejectionReason


async def create(
    stores: MyRewardsStores,
    services: Services,
    programme_id: str,
    user_id: int,
    fields: TransactionFields,
    idempotency_key: str | None,
) -> TransactionCreated | TransactionPending | None:
    """The booked transaction's id, or its reference while the ledger has not answered within
    the gateway's wait; None for a user unknown in the programme (MyRewards' 204). A refusal
    raises `Rejected` with the ledger's reason (406 for an unknown counterparty)."""
    counterparty = fields.counterparty_user_id
    wanted = {user_id} if counterparty is None else {user_id, counterparty}
    found = await stores.users.existing(programme_id, wanted)
    if user_id not in found:
        return None
    if counterparty is not None and counterparty not in found:
        raise Rejected.of(RejectionReason.INVALID_TRANSACTION, "counterparty not found")
    command_id = transactions.command_id_for(programme_id, user_id, idempotency_key)
    command = transactions.command_for(programme_id, user_id, fields, command_id)
    retry = idempotency_key is not None
    outcome = await transactions.book(services, command, retry=retry, ledger=stores.ledger)
    if outcome is None:
        return TransactionPending(transaction_reference=command_id)
    if outcome.status is OutcomeStatus.REJECTED:
        raise Rejected.of(outcome.reason_code, outcome.reason)
    entry_id = await stores.ledger.entry_id(command_id)
    if entry_id is None:  # booked without an entry: cannot be for a one-booking command
        raise NotFound(f"transaction {command_id} has no ledger entry")
    return TransactionCreated(id=entry_id)


async def history(
    stores: MyRewardsStores, programme_id: str, user_id: int, *, after_id: int, limit: int
) -> list[MyRewardsTransaction]:
    """The user's transactions after `after_id`, the most recent last, up to `limit`."""
    await _require_user(stores, programme_id, user_id)
    found = await stores.ledger.list_transactions(
        programme_id, transactions.ledger_user_id(user_id), after_id=after_id, limit=limit
    )
    return [MyRewardsTransaction.of(user_id, transaction) for transaction in found]


async def last(stores: MyRewardsStores, programme_id: str, user_id: int) -> MyRewardsTransaction:
    """The user's latest transaction; 404 for an unknown user, or one without transactions."""
    await _require_user(stores, programme_id, user_id)
    found = await stores.ledger.last_transaction(programme_id, transactions.ledger_user_id(user_id))
    if found is None:
        raise NotFound(f"user {user_id} has no transactions yet")
    return MyRewardsTransaction.of(user_id, found)


async def _require_user(stores: MyRewardsStores, programme_id: str, user_id: int) -> None:
    if not await stores.users.exists(programme_id, user_id):
        raise NotFound(f"user {user_id} is unknown in this programme")
