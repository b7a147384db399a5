"""Reads scoped to the caller's programme: a user's balance."""

from fastapi import APIRouter

from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.models import Balance
from ledger import queries

router = APIRouter(prefix="/api/partner/users", tags=["users"])


@router.get("/{user_id}/balance", response_model=Balance)
async def balance(user_id: str, caller: PrincipalDep, services: ServicesDep) -> Balance:
    points = await queries.get_balance(services.pool, caller.programme_id, user_id)
    return Balance(user_id=user_id, balance=points)
