"""Reads scoped to the caller's programme: a user's balance and transactions. A user the
programme's ledger has never booked for is unknown (404), so other programmes' users are
invisible rather than forbidden."""

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.errors import ERRORS, NotFound
from gateway.partner.models import Balance, TransactionOut, TransactionsPage
from ledger import reads

router = APIRouter(prefix="/api/partner/users", tags=["users"], responses=ERRORS)


@router.get("/{user_id}/balance", response_model=Balance)
async def balance(user_id: str, caller: PrincipalDep, services: ServicesDep) -> Balance:
    """The user's balance, what of it they can spend, and when which points of it expire."""
    holdings = await reads.find_holdings(services.pool, caller.programme_id, user_id)
    if holdings is None:
        raise NotFound(f"user {user_id} is unknown in this programme")
    return Balance.of(user_id, holdings)


@router.get("/{user_id}/transactions", response_model=TransactionsPage)
async def transactions(
    user_id: str,
    caller: PrincipalDep,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    num_of_items: Annotated[int, Query(alias="numOfItems", ge=1, le=reads.PAGE_SIZE_MAX)] = 50,
) -> TransactionsPage:
    """Oldest first, each with the user's running balance after it (MyRewards), paginated with
    `page` and `numOfItems` and the `totalCount` (Kwegg)."""
    found = await reads.transactions_page(
        services.pool, caller.programme_id, user_id, page=page, num_of_items=num_of_items
    )
    if found.total_count == 0:
        raise NotFound(f"user {user_id} has no transactions in this programme")
    items = [TransactionOut.of(transaction) for transaction in found.transactions]
    return TransactionsPage(transactions=items, totalCount=found.total_count)


@router.get("/{user_id}/transactions/last", response_model=TransactionOut)
async def last_transaction(
    user_id: str, caller: PrincipalDep, services: ServicesDep
) -> TransactionOut:
    found = await reads.last_transaction(services.pool, caller.programme_id, user_id)
    if found is None:
        raise NotFound(f"user {user_id} has no transactions in this programme")
    return TransactionOut.of(found)
