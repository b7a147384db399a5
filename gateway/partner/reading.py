"""The partner API's reads apart from HTTP: an event's outcome (through the shared path's
`StoredOutcomes`), a user's balance (now or as of an instant), transactions and tier, answered
from the ledger reads of `PartnerLedger` (Postgres in the process, `gateway.user_ledger`; an
in-memory fake in tests/unit/gateway/partner).

Reads are scoped to the caller's programme: a user the programme's ledger has never booked for
is unknown (404), so other programmes' users are invisible rather than forbidden."""

from datetime import datetime
from typing import Protocol

from gateway.errors import ApiError, NotFound
from gateway.partner.models import Balance, TransactionOut, TransactionsPage, UserTierOut
from gateway.publishing.answering import detailed_answer
from gateway.publishing.answers import EventOutcome
from gateway.publishing.ports import StoredOutcomes
from ledger import reads
from schemas.programme import ProgrammeConfig


class InvalidInstant(ApiError):
    status, code = 400, "invalid_request"


class PartnerLedger(Protocol):
    async def find_holdings(self, programme_id: str, user_id: str) -> reads.Holdings | None: ...

    async def find_balance(self, programme_id: str, user_id: str) -> int | None: ...

    async def balance_as_of(
        self, programme_id: str, user_id: str, as_of: datetime
    ) -> int | None: ...

    async def transactions_page(
        self, programme_id: str, user_id: str, *, page: int, num_of_items: int
    ) -> reads.TransactionPage: ...

    async def last_transaction(
        self, programme_id: str, user_id: str
    ) -> reads.Transaction | None: ...

    async def assigned_tier(
        self, programme_id: str, user_id: str
    ) -> reads.TierAssignment | None: ...

    async def tier_changes(
        self, programme_id: str, user_id: str, *, limit: int
    ) -> list[reads.TierChangeRow]: ...


async def event_outcome(stored: StoredOutcomes, programme_id: str, event_id: str) -> EventOutcome:
    """The outcome of an event of the programme, with its explanation; 404 while there is none
    (an unknown event, another programme's, or one not processed yet)."""
    outcome = await stored.get(event_id, programme_id)
    if outcome is None:
        raise NotFound(f"no outcome for event {event_id} (unknown, or not processed yet)")
    return detailed_answer(event_id, outcome)


def _unknown(user_id: str) -> NotFound:
    return NotFound(f"user {user_id} is unknown in this programme")


def _no_transactions(user_id: str) -> NotFound:
    return NotFound(f"user {user_id} has no transactions in this programme")


async def balance(
    ledger: PartnerLedger, programme_id: str, user_id: str, as_of: datetime | None, now: datetime
) -> Balance:
    """Now (`as_of` None): the balance with what of it is spendable and expires when; else the
    balance booked by `as_of`, which must not be later than `now` (400 `invalid_request`)."""
    if as_of is None:
        holdings = await ledger.find_holdings(programme_id, user_id)
        if holdings is None:
            raise _unknown(user_id)
        return Balance.of(user_id, holdings)
    if as_of > now:
        raise InvalidInstant(f"as_of: {as_of.isoformat()} is in the future")
    points = await ledger.balance_as_of(programme_id, user_id, as_of)
    if points is None:
        raise _unknown(user_id)
    return Balance(user_id=user_id, balance=points, as_of=as_of)


async def transactions(
    ledger: PartnerLedger, programme_id: str, user_id: str, *, page: int, num_of_items: int
) -> TransactionsPage:
    found = await ledger.transactions_page(
        programme_id, user_id, page=page, num_of_items=num_of_items
    )
    if found.total_count == 0:
        raise _no_transactions(user_id)
    items = [TransactionOut.of(transaction) for transaction in found.transactions]
    return TransactionsPage(transactions=items, totalCount=found.total_count)


async def last_transaction(
    ledger: PartnerLedger, programme_id: str, user_id: str
) -> TransactionOut:
    found = await ledger.last_transaction(programme_id, user_id)
    if found is None:
        raise _no_transactions(user_id)
    return TransactionOut.of(found)


async def tier(
    ledger: PartnerLedger,
    config: ProgrammeConfig | None,
    programme_id: str,
    user_id: str,
    *,
    limit: int,
) -> UserTierOut:
    """`config`: the programme's, None while the gateway has not read it yet (404). A user
    never booked for nor assigned a tier is unknown (404)."""
    current = await ledger.assigned_tier(programme_id, user_id)
    if current is None and await ledger.find_balance(programme_id, user_id) is None:
        raise _unknown(user_id)
    changes = await ledger.tier_changes(programme_id, user_id, limit=limit)
    if config is None:
        raise NotFound(f"programme {programme_id} has no configuration here yet")
    return UserTierOut.of(user_id, config.default_tier, current, changes)
