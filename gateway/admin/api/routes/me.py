"""Who the caller is."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.admin.api.auth import ActorDep

router = APIRouter(tags=["access"])


class Me(BaseModel):
    actor: str = Field(description="How the audit log names the caller.")
    email: str | None
    role: str
    programmes: list[str] | None = Field(description="Those granted; null for every programme.")


@router.get("/me", response_model=Me)
async def me(actor: ActorDep) -> Me:
    programmes = None if actor.programmes is None else sorted(actor.programmes)
    return Me(actor=actor.label, email=actor.email, role=actor.role, programmes=programmes)
