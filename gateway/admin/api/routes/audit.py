"""The audit log, newest first, by programme and object."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, JsonValue

from gateway.admin.api.auth import ActorDep
from gateway.admin.api.models import DifferenceOut
from gateway.admin.console.state import console_of
from gateway.admin.service import audit

router = APIRouter(tags=["audit"])


class EntryOut(BaseModel):
    audit_id: int
    at: datetime
    actor: str = Field(description="An admin's email (and token), or `cli:<os user>`.")
    action: str
    object_type: str
    object_id: str
    programme_id: str | None
    before: JsonValue
    after: JsonValue
    changes: list[DifferenceOut] = Field(description="before → after, value by value.")


class AuditPage(BaseModel):
    entries: list[EntryOut]
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null at the end."
    )


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    request: Request,
    actor: ActorDep,
    programme_id: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=audit.PAGE_MAX)] = 50,
) -> AuditPage:
    filters = audit.Filters(programme_id, object_type, object_id, before_id, limit)
    found = await audit.entries(console_of(request).backend.pool, actor, filters)
    entries = [
        EntryOut(
            audit_id=e.audit_id, at=e.at, actor=e.actor, action=e.action,
            object_type=e.object_type, object_id=e.object_id, programme_id=e.programme_id,
            before=e.before, after=e.after,
            changes=[DifferenceOut(path=d.path, before=d.before, after=d.after)
                     for d in e.differences],
        )
        for e in found
    ]  # fmt: skip
    next_before = found[-1].audit_id if len(found) == limit else None
    return AuditPage(entries=entries, next_before_id=next_before)
