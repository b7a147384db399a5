"""Partners' API keys of a programme: list, issue (the key in the answer, once), revoke."""

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import api_keys, programmes
from gateway.keys import Environment

router = APIRouter(tags=["api keys"])


class KeyOut(BaseModel):
    key_id: str
    prefix: str = Field(description="`lk_live_<key_id>`: how the key is recognised.")
    partner_id: str
    environment: Environment
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute; null if never used.")
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: api_keys.Key) -> "KeyOut":
        return cls.model_validate(key, from_attributes=True)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: str = Field(description="A partner of the programme.")
    environment: Environment | None = Field(
        default=None, description="The programme's environment (the default)."
    )


class IssuedKeyOut(BaseModel):
    key_id: str
    key: str = Field(description="The API key: shown this once, never stored.")
    partner_id: str
    environment: Environment


@router.get("/programmes/{programme_id}/api-keys", response_model=list[KeyOut])
async def list_keys(request: Request, actor: ActorDep, programme_id: str) -> list[KeyOut]:
    keys = await api_keys.listed(console_of(request).backend.pool, actor, programme_id)
    return [KeyOut.of(key) for key in keys]


@router.post("/programmes/{programme_id}/api-keys", status_code=201, response_model=IssuedKeyOut)
async def issue_key(
    request: Request, actor: ActorDep, programme_id: str, body: NewKey
) -> IssuedKeyOut:
    backend = console_of(request).backend
    environment = body.environment
    if environment is None:
        environment = (await programmes.get(backend.pool, actor, programme_id)).environment
    issued = await api_keys.issue(backend, actor, programme_id, body.partner_id, environment)
    return IssuedKeyOut(
        key_id=issued.key_id, key=issued.secret, partner_id=body.partner_id,
        environment=environment,
    )  # fmt: skip


@router.delete("/programmes/{programme_id}/api-keys/{key_id}", response_model=KeyOut)
async def revoke_key(request: Request, actor: ActorDep, programme_id: str, key_id: str) -> KeyOut:
    """The key stops working within the gateway's key cache time (30 s by default)."""
    key = await api_keys.revoke(console_of(request).backend, actor, programme_id, key_id)
    return KeyOut.of(key)
