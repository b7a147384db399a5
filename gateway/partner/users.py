"""Reads scoped to the caller's programme: a user's balance and transactions. A user the
programme's ledger has never booked for is unknown (404), so other programmes' users are
invisible rather than forbidden."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.errors import ERRORS, ApiError, NotFound
from gateway.partner.models import Balance, TransactionOut, TransactionsPage, UserTierOut
from ledger import reads

router = APIRouter(prefix="/api/partner/users", tags=["users"], responses=ERRORS)


class InvalidInstant(ApiError):
    status, code = 400, "invalid_request"


@router.get("/{user_id}/balance", response_model=Balance, response_model_exclude_none=True)
async def balance(
    user_id: str,
    caller: PrincipalDep,
    services: ServicesDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(
            description="An RFC 3339 instant with its time zone, not in the future: the balance "
            "after the entries booked up to then (0 before the user's first). Default: now."
        ),
    ] = None,
) -> Balance:
    """The user's balance, what of it they can spend, and when which points of it expire; or,
    with `as_of`, the balance booked by that instant."""
    if as_of is None:
        holdings = await reads.find_holdings(services.pool, caller.programme_id, user_id)
        if holdings is None:
            raise NotFound(f"user {user_id} is unknown in this programme")
        return Balance.of(user_id, holdings)
    if as_of > datetime.now(UTC):
        raise InvalidInstant(f"as_of: {as_of.isoformat()} is in the future")
    points = await reads.balance_as_of(services.pool, caller.programme_id, user_id, as_of)
    if points is None:
        raise NotFound(f"user {user_id} is unknown in this programme")
    return Balance(user_id=user_id, balance=points, as_of=as_of)


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


@router.get("/{user_id}/tier", response_model=UserTierOut)
async def tier(
    user_id: str,
    caller: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=reads.TIER_CHANGES_MAX)] = 20,
) -> UserTierOut:
    """The user's tier and its changes with their reasons (upgrade by points, downgrade by the
    programme's policy, set by hand), newest first. A user never booked for nor assigned a tier
    is unknown (404)."""
    programme_id = caller.programme_id
    config = services.catalog.config(programme_id)
    current = await reads.assigned_tier(services.pool, programme_id, user_id)
    if current is None and await reads.find_balance(services.pool, programme_id, user_id) is None:
        raise NotFound(f"user {user_id} is unknown in this programme")
    changes = await reads.tier_changes(services.pool, programme_id, user_id, limit=limit)
    if config is None:  # the gateway has not read the programme's configuration yet
        raise NotFound(f"programme {programme_id} has no configuration here yet")
    return UserTierOut.of(user_id, config.default_tier, current, changes)
