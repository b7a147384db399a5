"""API clients that trigger a programme's API rules: list (with the rules authorising each),
create (the secret in the answer, once), revoke."""

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import api_clients
from gateway.keys import Environment

router = APIRouter(tags=["api clients"])


class AuthorisingRule(BaseModel):
    rule_id: str
    status: str


class ClientOut(BaseModel):
    client_id: str
    name: str | None
    environment: Environment | None = Field(description="Null when it has no secret yet.")
    created_at: datetime | None
    revoked_at: datetime | None
    status: Literal["active", "revoked", "no secret"] = Field(
        description="`no secret`: declared by a programme file, no credential issued yet."
    )
    declared: bool = Field(description="In the programme's snapshot: rules may authorise it.")
    rules: list[AuthorisingRule] = Field(description="The rules that authorise it.")

    @classmethod
    def of(cls, client: api_clients.Client) -> "ClientOut":
        return cls(
            client_id=client.client_id, name=client.name, environment=client.environment,
            created_at=client.created_at, revoked_at=client.revoked_at, status=client.status,
            declared=client.declared,
            rules=[AuthorisingRule(rule_id=r, status=s) for r, s in client.rules],
        )  # fmt: skip


class NewClient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(description="1 to 64 letters, digits, '.', '_' or '-'.")
    name: str | None = Field(default=None, max_length=200, description="For people.")


class IssuedClientOut(BaseModel):
    client_id: str
    client_secret: str = Field(description="Shown this once; only its SHA-256 is stored.")
    environment: Environment
    programme_version: int = Field(description="The programme's version, the client declared.")


@router.get("/programmes/{programme_id}/api-clients", response_model=list[ClientOut])
async def list_clients(request: Request, actor: ActorDep, programme_id: str) -> list[ClientOut]:
    found = await api_clients.listed(console_of(request).backend.pool, actor, programme_id)
    return [ClientOut.of(client) for client in found]


@router.post(
    "/programmes/{programme_id}/api-clients", status_code=201, response_model=IssuedClientOut
)
async def create_client(
    request: Request, actor: ActorDep, programme_id: str, body: NewClient
) -> IssuedClientOut:
    """A client of the programme's environment, declared in its snapshot (so rules may
    authorise it); a client id is one credential ever (409 when taken)."""
    issued = await api_clients.create(
        console_of(request).backend, actor, programme_id, body.client_id, body.name,
        source="api",
    )  # fmt: skip
    return IssuedClientOut(
        client_id=issued.client_id, client_secret=issued.secret,
        environment=issued.environment, programme_version=issued.programme_version,
    )  # fmt: skip


@router.delete("/programmes/{programme_id}/api-clients/{client_id}", status_code=204)
async def revoke_client(
    request: Request, actor: ActorDep, programme_id: str, client_id: str
) -> None:
    """Its secret stops working at once; the rules naming it keep their history."""
    await api_clients.revoke(console_of(request).backend, actor, programme_id, client_id)
