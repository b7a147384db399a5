"""Who is calling. A tenant is a partner of a programme and its `License-Key` is that partner's
API key (`loyalty-admin create-key`), resolved by the gateway's KeyResolver; a user's session is
the access token (`Authorization`) the tenant got by logging the user in."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.dependencies import Services, services_of
from gateway.errors import Forbidden
from gateway.keys import Principal
from gateway.kwegg import sessions
from gateway.kwegg.token_store import PostgresAccessTokens
from gateway.kwegg.tokens import Session
from gateway.publishing.partner_events import programme_partner
from schemas.programme import Partner

PLATFORM_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"


@dataclass(frozen=True, slots=True)
class Tenant:
    services: Services
    principal: Principal
    partner: Partner
    platform: str | None

    @property
    def programme_id(self) -> str:
        return self.principal.programme_id


@dataclass(frozen=True, slots=True)
class UserCall:
    tenant: Tenant
    session: Session

    @property
    def user_id(self) -> str:
        return self.session.user_id


async def tenant(
    request: Request,
    license_key: Annotated[
        str | None, Header(alias="License-Key", description="The tenant's license key.")
    ] = None,
    platform: Annotated[
        str | None,
        Header(
            alias="Platform",
            pattern=PLATFORM_PATTERN,
            description="The client's platform: ANDROID, WEB, IOS (or RAW, as in Kwegg's "
            "examples); recorded with the access token.",
        ),
    ] = None,
) -> Tenant:
    services = services_of(request)
    principal = await services.keys.resolve(license_key)
    partner = programme_partner(
        services,
        principal,
        not_a_partner="the License-Key's tenant is not a partner of its programme",
    )
    return Tenant(services, principal, partner, platform and platform.upper())


TenantDep = Annotated[Tenant, Depends(tenant)]


async def user_call(
    caller: TenantDep,
    authorization: Annotated[
        str | None,
        Header(description="The access token from the login: `<accessToken>`."),
    ] = None,
) -> UserCall:
    store = PostgresAccessTokens(caller.services.pool)
    now = datetime.now(UTC)
    return UserCall(
        caller, await sessions.session_of(store, caller.programme_id, authorization, now)
    )


UserCallDep = Annotated[UserCall, Depends(user_call)]


def require_same_user(call: UserCall, user_id: str | None) -> None:
    if user_id is not None and user_id != call.user_id:
        raise Forbidden("the access token belongs to another user")
