"""A programme's partners: each change a new snapshot."""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.api.models import ChangeResult, ExpectedVersion
from gateway.admin.console.state import console_of
from gateway.admin.service import partners, programmes
from schemas.events import Identifier
from schemas.programme import Multiplier, Partner

router = APIRouter(tags=["partners"])


class PartnerBody(BaseModel):
    """A partner's settings; its id is the path's."""

    model_config = ConfigDict(extra="forbid")

    multiplier: Multiplier = Decimal(1)
    allowed_event_types: tuple[Identifier, ...] = Field(
        default=(), description="Declared event types of the programme."
    )
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = 30


@router.get("/programmes/{programme_id}/partners", response_model=list[Partner])
async def list_partners(request: Request, actor: ActorDep, programme_id: str) -> list[Partner]:
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    return list(config.partners)


@router.put("/programmes/{programme_id}/partners/{partner_id}", response_model=ChangeResult)
async def put_partner(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    partner_id: str,
    body: PartnerBody,
    expected_version: ExpectedVersion = None,
) -> ChangeResult:
    """Add the partner, or replace its settings."""
    partner = partners.parse({"partner_id": partner_id, **body.model_dump()})
    committed = await partners.put(
        console_of(request).backend, actor, programme_id, partner,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return ChangeResult.of(committed)


@router.delete("/programmes/{programme_id}/partners/{partner_id}", response_model=ChangeResult)
async def delete_partner(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    partner_id: str,
    expected_version: ExpectedVersion = None,
) -> ChangeResult:
    """The partner leaves the configuration (its keys stop working; revoke them too)."""
    committed = await partners.remove(
        console_of(request).backend, actor, programme_id, partner_id,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return ChangeResult.of(committed)
