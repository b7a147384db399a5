"""Request-scoped lookups shared by the routes: the process's services and the caller."""

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

from gateway.auth import KeyResolver
from gateway.keys import Principal
from gateway.publisher import EventPublisher
from gateway.settings import GatewaySettings


@dataclass(frozen=True, slots=True)
class Services:
    settings: GatewaySettings
    pool: asyncpg.Pool
    keys: KeyResolver
    publisher: EventPublisher


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def principal(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="The partner's API key.")] = None,
) -> Principal:
    return await services(request).keys.resolve(x_api_key)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
