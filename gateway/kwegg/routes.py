"""Kwegg API (seed 003): tenant user login with access tokens, balance, event occurrences,
transactions and offers.

A tenant authenticates with `License-Key`, which is an API key of one of its programme's partners
(`loyalty-admin create-key --programme P --partner TENANT`); `POST /userauth/user/tenant/login`
logs a user in (signing them up on first sight) and returns an access token the tenant sends as
`Authorization: <accessToken>` on the user's calls. Answers are Kwegg's
`{"success", "message", "data"}`; errors add the API's stable `error` code.

The routes only translate: what a call does is in `gateway.kwegg.user_calls` (its stores behind
`gateway.kwegg.ports`), an occurrence is published by the shared path (`gateway.publishing`)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from gateway.errors import error_doc
from gateway.kwegg import offers, user_calls, views
from gateway.kwegg.access import TenantDep, UserCall, UserCallDep, require_same_user, user_call
from gateway.kwegg.envelope import AUTH_ERRORS, KweggRoute
from gateway.kwegg.models import (
    BalanceData,
    KweggAnswer,
    KweggError,
    LoginData,
    LoginRequest,
    OccurrenceData,
    OccurrenceRequest,
    OffersData,
    RedeemRequest,
    RedemptionData,
    TransactionsData,
)
from gateway.kwegg.ports import KweggStores
from gateway.publishing.partner_events import publish_partner_event
from ledger import reads
from schemas.events import EventV1, event_id_for
from schemas.programme import RETURN_REFERENCE_PARAMETER

router = APIRouter(tags=["Kwegg"], route_class=KweggRoute, responses=AUTH_ERRORS)
PageQuery = Annotated[int, Query(ge=1, le=1_000_000)]
OfferId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


# Optional fields (the user's tier) only where they say something, as Kwegg's own examples.
@router.post(
    "/userauth/user/tenant/login",
    response_model=KweggAnswer[LoginData],
    response_model_exclude_none=True,
)
async def login(body: LoginRequest, caller: TenantDep) -> KweggAnswer[LoginData]:
    """Log a user in (or sign them up: any `userId` the tenant sends is its user) and get an
    access token for the user's calls, valid 24 hours (`LOYALTY_KWEGG_TOKEN_TTL_S`); logging
    in again gives a new token and leaves the older ones valid until they expire (at most 20
    live tokens per user, the oldest dropped first)."""
    stores = KweggStores.of(caller.services.pool)
    return await user_calls.login(stores, caller, body.userId, datetime.now(UTC))


UserIdQuery = Annotated[
    str | None,
    Query(alias="userId", min_length=1, max_length=128, description="The token's user."),
]


@router.get(
    "/userauth/user/tenant/balance",
    response_model=KweggAnswer[BalanceData],
    response_model_exclude_none=True,
)
async def balance(call: UserCallDep, user_id: UserIdQuery = None) -> KweggAnswer[BalanceData]:
    """The user's points (0 before their first booking), the coins pending, what expires
    when, and the user's tier with their progress to the next one. `userId`, when given, must
    be the access token's user (403 otherwise)."""
    stores = KweggStores.of(call.tenant.services.pool)
    return await user_calls.balance(stores, call, user_id, datetime.now(UTC))


# Kwegg's cURL example for the balance leaves `/userauth` out; both paths answer.
router.get(
    "/user/tenant/balance",
    response_model=KweggAnswer[BalanceData],
    response_model_exclude_none=True,
    summary="Balance (the path of Kwegg's cURL example)",
)(balance)


@router.post(
    "/core/user/tenant/event/occurence",
    response_model=KweggAnswer[OccurrenceData],
    responses={
        202: {"model": KweggAnswer[OccurrenceData], "description": "Accepted; outcome pending"},
        429: error_doc(
            KweggError, "rate_limit_exceeded: too many events from the tenant; see Retry-After"
        ),
    },
)
async def event_occurrence(
    body: OccurrenceRequest, call: UserCallDep, response: Response
) -> KweggAnswer[OccurrenceData]:
    """Register an occurrence of one of the programme's events for the token's user, exactly
    as `POST /api/partner/events` would (the tenant is the partner: its allowed event types and
    rate limit apply, 403 and 429). `event.params` are the event's metadata, matched by the
    rules; `event.id` makes a retry recognisable. The answer carries the points when the outcome
    is known within the gateway's wait (200), else `"status": "pending"` (202)."""
    require_same_user(call, body.userId)
    tenant = call.tenant
    answer, status = await publish_partner_event(
        tenant.services,
        tenant.principal,
        tenant.partner,
        body.event.name,
        lambda: _event(call, body),
    )
    response.status_code = status
    message = "Event triggered successfully"
    return KweggAnswer(message=message, data=views.occurrence(answer))


def _event(call: UserCall, body: OccurrenceRequest) -> EventV1:
    principal = call.tenant.principal
    # The tenant's occurrence id is scoped to the user: the same id from two users is two events.
    reference = None if body.event.id is None else _scoped(call.user_id, body.event.id)
    params = body.event.params
    original = params.get(RETURN_REFERENCE_PARAMETER)
    if isinstance(original, str):  # a return names its original by the tenant's occurrence id
        params = {**params, RETURN_REFERENCE_PARAMETER: _scoped(call.user_id, original)}
    return EventV1(
        event_id=event_id_for(principal.programme_id, principal.partner_id, reference),
        programme_id=principal.programme_id,
        partner_id=principal.partner_id,
        user_id=call.user_id,
        event_type=body.event.name,
        occurred_at=datetime.now(UTC),
        reference_id=body.event.id,
        environment=principal.environment,
        metadata=params,
    )


def _scoped(user_id: str, occurrence_id: str) -> str:
    """The reference an occurrence id stands for (`event_id_for` scopes it to the partner)."""
    return f"kwegg\x1f{user_id}\x1f{occurrence_id}"


@router.get(
    "/core/user/tenant/transactions",
    response_model=KweggAnswer[TransactionsData],
    # `status` and `availableOn` only where they say something (coins awarded as pending).
    response_model_exclude_none=True,
)
async def transactions(
    call: UserCallDep,
    page: PageQuery = 1,
    num_of_items: Annotated[int, Query(alias="numOfItems", ge=1, le=reads.PAGE_SIZE_MAX)] = 10,
) -> KweggAnswer[TransactionsData]:
    """The user's credits and debits, oldest first (the ledger's order, as
    `/api/partner/users/{user_id}/transactions`), `page` from 1 of `numOfItems`, with the
    `totalCount`. `type` is `EVENT_OCCURENCE` for points earned, `REDEMPTION` for offers.
    Coins awarded as pending are listed when awarded, with their `status` and `availableOn`,
    and again as a `POINTS_RELEASE` credit when they become available."""
    stores = KweggStores.of(call.tenant.services.pool)
    return await user_calls.transactions(stores, call, page=page, num_of_items=num_of_items)


async def _optional_user(
    caller: TenantDep,
    authorization: Annotated[
        str | None, Header(description="Optional here; when sent, a valid access token.")
    ] = None,
) -> None:
    if authorization is not None:
        await user_call(caller, authorization)


OFFERS_OPENAPI = {
    "description": """The programme's offers, each with its status (`ACTIVE`, `INACTIVE`,
`EXPIRED`) and its price in points, oldest first, `page` from 1 of `numOfItems` (at most 100),
with the `totalCount`. The License-Key is enough; an `Authorization` header, when sent, must be a
valid access token.

Kwegg's documentation gives `GET /userauth/admins/tenant?page=1&numOfItems=2` as the "Fetch
Offers" call, with an example body copied from its admins listing; that call answers here with
the offers (`data.offers` in place of `data.admins`, each with `id`, `createdAt` and `status`
like the example's items). `GET /core/user/tenant/offers` is the same listing under a name of its
own."""
}


@router.get(
    "/core/user/tenant/offers",
    response_model=KweggAnswer[OffersData],
    dependencies=[Depends(_optional_user)],
    openapi_extra=OFFERS_OPENAPI,
)
async def fetch_offers(
    caller: TenantDep,
    page: PageQuery = 1,
    num_of_items: Annotated[int, Query(alias="numOfItems", ge=1, le=offers.PAGE_SIZE_MAX)] = 10,
) -> KweggAnswer[OffersData]:
    """Fetch offers."""
    stores, now = KweggStores.of(caller.services.pool), datetime.now(UTC)
    return await user_calls.offers(stores, caller, page=page, num_of_items=num_of_items, now=now)


router.get(
    "/userauth/admins/tenant",
    response_model=KweggAnswer[OffersData],
    dependencies=[Depends(_optional_user)],
    openapi_extra=OFFERS_OPENAPI,
    summary="Fetch offers (the path of Kwegg's documentation)",
)(fetch_offers)


@router.post(
    "/core/user/tenant/offers/{offer_id}/redeem",
    response_model=KweggAnswer[RedemptionData],
    responses={
        202: {"model": KweggAnswer[RedemptionData], "description": "Accepted; outcome pending"},
        402: error_doc(
            KweggError, "insufficient_points: the user's balance does not cover the offer"
        ),
        404: error_doc(KweggError, "not_found: no such offer in the programme"),
        409: error_doc(
            KweggError,
            "conflict: the offer is inactive or expired, or the referenceId was used for "
            "another redemption",
        ),
    },
)
async def redeem_offer(
    offer_id: OfferId, call: UserCallDep, response: Response, body: RedeemRequest | None = None
) -> KweggAnswer[RedemptionData]:
    """Redeem an offer for the token's user: debits the offer's points (a ledger Debit of
    variety Redemption). Kwegg's documentation repeats the offers listing's URL for this call,
    so it has this route of its own. The body is optional: `referenceId` makes a retry return
    the original redemption and debit nothing more. A balance that does not cover the offer is
    refused with 402 `insufficient_points` and changes nothing; an inactive or expired offer is
    409. The answer carries the balance after the debit (200), or `"status": "pending"` (202)
    when the ledger has not answered within the gateway's wait; `GET /api/partner/events/
    {redemptionId}` with the License-Key as `X-API-Key` answers it later."""
    stores = KweggStores.of(call.tenant.services.pool)
    answer = await user_calls.redeem(
        stores, call, offer_id, body or RedeemRequest(), datetime.now(UTC)
    )
    if answer.data.status == "pending":
        response.status_code = 202
    return answer
