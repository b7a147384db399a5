"""A programme's event types and their typed parameters: each change a new snapshot."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.api.models import ChangeResult, ExpectedVersion
from gateway.admin.console.state import console_of
from gateway.admin.service import event_types, programmes
from schemas.programme import EventType, Parameter

router = APIRouter(tags=["event types"])


class EventTypeBody(BaseModel):
    """An event type's parameters; its name is the path's."""

    model_config = ConfigDict(extra="forbid")

    parameters: tuple[Parameter, ...] = Field(
        default=(), description="Name, type (integer, float, string, boolean), mandatory."
    )


@router.get("/programmes/{programme_id}/event-types", response_model=list[EventType])
async def list_event_types(request: Request, actor: ActorDep, programme_id: str) -> list[EventType]:
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    return list(config.event_types)


@router.put("/programmes/{programme_id}/event-types/{name}", response_model=ChangeResult)
async def put_event_type(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    name: str,
    body: EventTypeBody,
    expected_version: ExpectedVersion = None,
) -> ChangeResult:
    """Add the event type, or replace its parameters (refused, by field, when a rule's
    conditions or unit field no longer fit them)."""
    event_type = event_types.parse({"name": name, **body.model_dump(mode="json")})
    committed = await event_types.put(
        console_of(request).backend, actor, programme_id, event_type,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return ChangeResult.of(committed)


@router.delete("/programmes/{programme_id}/event-types/{name}", response_model=ChangeResult)
async def delete_event_type(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    name: str,
    expected_version: ExpectedVersion = None,
) -> ChangeResult:
    """Refused with 409, naming them, while a rule (ended ones too) or a partner uses it."""
    committed = await event_types.remove(
        console_of(request).backend, actor, programme_id, name,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return ChangeResult.of(committed)
