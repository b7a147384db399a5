"""Request-scoped lookups shared by the routes: the process's services and the caller."""

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

from gateway.auth import KeyResolver
from gateway.keys import Principal
from gateway.publishing.ports import EventPublisher, OutcomeWaits, StoredOutcomes
from gateway.rate_limits import PartnerRateLimits
from gateway.settings import GatewaySettings
from ledger import reads
from runtime.config_feed import ProgrammeConfigs
from schemas.ledger import CommandOutcome


@dataclass(frozen=True, slots=True)
class StoredOutcomesOf:
    """`StoredOutcomes` read from the ledger (`ledger.reads`)."""

    pool: asyncpg.Pool

    async def get(self, command_id: str, programme_id: str | None) -> CommandOutcome | None:
        return await reads.get_outcome(self.pool, command_id, programme_id=programme_id)


@dataclass(frozen=True, slots=True)
class Services:
    settings: GatewaySettings
    pool: asyncpg.Pool
    keys: KeyResolver
    publisher: EventPublisher
    catalog: ProgrammeConfigs
    outcomes: OutcomeWaits
    rate_limits: PartnerRateLimits
    stored: StoredOutcomes

    async def outcomes_for(self, programme_id: str, command_id: str) -> CommandOutcome | None:
        return await self.stored.get(command_id, programme_id)


def services_of(request: Request) -> Services:
    """The process's services, set on the app at startup."""
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    return services_of(request)


async def principal(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="The partner's API key.")] = None,
) -> Principal:
    return await services_of(request).keys.resolve(x_api_key)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(principal)]
