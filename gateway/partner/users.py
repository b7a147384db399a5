"""The partner API's user reads over HTTP: thin adapters over `gateway.partner.reading`, which
holds their logic, with the ledger read in Postgres (`gateway.user_ledger`)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.errors import ERRORS
from gateway.partner import reading
from gateway.partner.models import Balance, TransactionOut, TransactionsPage, UserTierOut
from gateway.user_ledger import PostgresUserLedger
from ledger import reads

router = APIRouter(prefix="/api/partner/users", tags=["users"], responses=ERRORS)


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
    ledger = PostgresUserLedger(services.pool)
    now = datetime.now(UTC)
    return await reading.balance(ledger, caller.programme_id, user_id, as_of, now)


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
    ledger = PostgresUserLedger(services.pool)
    return await reading.transactions(
        ledger, caller.programme_id, user_id, page=page, num_of_items=num_of_items
    )


@router.get("/{user_id}/transactions/last", response_model=TransactionOut)
async def last_transaction(
    user_id: str, caller: PrincipalDep, services: ServicesDep
) -> TransactionOut:
    ledger = PostgresUserLedger(services.pool)
    return await reading.last_transaction(ledger, caller.programme_id, user_id)


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
    ledger, programme_id = PostgresUserLedger(services.pool), caller.programme_id
    config = services.catalog.config(programme_id)
    return await reading.tier(ledger, config, programme_id, user_id, limit=limit)
