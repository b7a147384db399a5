"""A programme's Kwegg offers: list, create, end."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import offers
from gateway.admin.service.offers import NewOffer
from gateway.kwegg.offers import Offer, OfferStatus

router = APIRouter(tags=["kwegg offers"])


class OfferOut(BaseModel):
    offer_id: str
    name: str
    description: str
    points: int
    status: OfferStatus = Field(description="ACTIVE, INACTIVE (ended) or EXPIRED (past its end).")
    valid_until: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, offer: Offer) -> "OfferOut":
        return cls(
            offer_id=offer.offer_id, name=offer.name, description=offer.description,
            points=offer.points, status=offer.status(datetime.now(UTC)),
            valid_until=offer.valid_until, created_at=offer.created_at,
        )  # fmt: skip


class OffersPage(BaseModel):
    offers: list[OfferOut] = Field(description="Oldest first.")
    total_count: int
    page: int


@router.get("/programmes/{programme_id}/offers", response_model=OffersPage)
async def list_offers(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> OffersPage:
    found = await offers.page(console_of(request).backend.pool, actor, programme_id, page)
    return OffersPage(
        offers=[OfferOut.of(o) for o in found.offers], total_count=found.total_count, page=page
    )


@router.post("/programmes/{programme_id}/offers", status_code=201, response_model=OfferOut)
async def create_offer(
    request: Request, actor: ActorDep, programme_id: str, body: NewOffer
) -> OfferOut:
    """An active offer that the programme's users can redeem through the Kwegg API."""
    made = await offers.create(console_of(request).backend, actor, programme_id, body)
    return OfferOut.of(made)


@router.post("/programmes/{programme_id}/offers/{offer_id}/end", response_model=OfferOut)
async def end_offer(
    request: Request, actor: ActorDep, programme_id: str, offer_id: str
) -> OfferOut:
    """INACTIVE from now on (the Kwegg API refuses to redeem it); kept and listed."""
    ended = await offers.end(console_of(request).backend, actor, programme_id, offer_id)
    return OfferOut.of(ended)
