"""Kwegg API (seed 003): tenant user login with access tokens, balance, event occurrences,
transactions and offers.

A tenant authenticates with `License-Key`, which is an API key of one of its programme's partners
(`loyalty-admin create-key --programme P --partner TENANT`); `POST /userauth/user/tenant/login`
logs a user in (signing them up on first sight) and returns an access token the tenant sends as
`Authorization: <accessToken>` on the user's calls. Answers are Kwegg's
`{"success", "message", "data"}`; errors add the API's stable `error` code."""

from datetime import UTC, datetime
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from gateway import tier_standing
from gateway.errors import Conflict, NotFound, Rejected, error_doc
from gateway.kwegg import offers, redeeming, tokens, views
from gateway.kwegg.access import (
    Tenant,
    TenantDep,
    UserCall,
    UserCallDep,
    require_same_user,
    user_call,
)
from gateway.kwegg.envelope import AUTH_ERRORS, KweggRoute
from gateway.kwegg.models import (
    BalanceData,
    ExpiringPoints,
    KweggAnswer,
    KweggError,
    KweggUser,
    LoginData,
    LoginRequest,
    OccurrenceData,
    OccurrenceRequest,
    OffersData,
    RedeemRequest,
    RedemptionData,
    TransactionsData,
)
from gateway.kwegg.tokens import Session
from gateway.publishing.answering import book_command
from gateway.publishing.partner_events import publish_partner_event
from ledger import reads
from schemas.events import EventV1, event_id_for
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason
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
    services, settings = caller.services, caller.services.settings
    now = datetime.now(UTC)
    session = Session(
        caller.programme_id,
        caller.principal.partner_id,
        body.userId,
        tokens.expiry(now, settings.kwegg_token_ttl_s),
    )
    token = await tokens.issue(
        services.pool, session, caller.platform, now, settings.kwegg_tokens_per_user_max
    )
    balance = await reads.get_balance(services.pool, caller.programme_id, body.userId)
    config = services.catalog.config(caller.programme_id)
    tier = None
    if config is not None:
        assigned = await reads.assigned_tier(services.pool, caller.programme_id, body.userId)
        tier = tier_standing.standing(config, assigned, None).tier
    data = LoginData(
        accessToken=token,
        expiresAt=session.expires_at,
        user=KweggUser(userId=body.userId, balance=balance, tier=tier),
    )
    return KweggAnswer(message="Login successfully", data=data)


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
    require_same_user(call, user_id)
    services, programme_id = call.tenant.services, call.tenant.programme_id
    holdings = await reads.find_holdings(services.pool, programme_id, call.user_id)
    data = BalanceData(balance=0)
    if holdings is not None:
        expiring = [
            ExpiringPoints(date=e.expires_on, expiresAt=e.expires_at, points=e.points)
            for e in holdings.expiring
        ]
        data = BalanceData(
            balance=holdings.balance, pending=holdings.pending_points, expiring=expiring
        )
    config = services.catalog.config(programme_id)
    if config is not None:
        found = await tier_standing.tier_standing(
            services.pool, config, call.user_id, datetime.now(UTC)
        )
        data.tier = views.tier(found)
    return KweggAnswer(message="Balance fetched successfully", data=data)


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
    tenant = call.tenant
    found = await reads.transactions_page(
        tenant.services.pool,
        tenant.programme_id,
        call.user_id,
        page=page,
        num_of_items=num_of_items,
    )
    data = TransactionsData(
        transactions=[views.transaction(each) for each in found.transactions],
        totalCount=found.total_count,
    )
    return KweggAnswer(message="Transactions fetched successfully", data=data)


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
    found = await offers.page_of(
        caller.services.pool, caller.programme_id, page=page, num_of_items=num_of_items
    )
    now = datetime.now(UTC)
    data = OffersData(
        offers=[views.offer(each, now) for each in found.offers], totalCount=found.total_count
    )
    return KweggAnswer(message="Offers fetched successfully", data=data)


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
    request = body or RedeemRequest()
    require_same_user(call, request.userId)
    tenant = call.tenant
    offer = await offers.find(tenant.services.pool, tenant.programme_id, offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id} in this programme")
    command = redeeming.redemption_command(
        tenant.programme_id, tenant.principal.partner_id, call.user_id, offer, request.referenceId
    )
    outcome = None
    if request.referenceId is not None:  # a retry is answered even if the offer has ended since
        outcome = await tenant.services.outcomes_for(tenant.programme_id, command.command_id)
    if outcome is None:
        outcome = await _redeem(tenant, offer, command)
    elif _offer_of(outcome) != offer.offer_id:
        raise Conflict(f"referenceId {request.referenceId} was used to redeem another offer")
    if outcome is not None and outcome.status is OutcomeStatus.REJECTED:
        _refuse(outcome.reason_code, outcome.reason)
    if outcome is None:
        response.status_code = 202
    data = views.redemption(command.command_id, offer.offer_id, offer.points, outcome)
    return KweggAnswer(message="Offer redeemed successfully", data=data)


async def _redeem(
    tenant: Tenant, offer: offers.Offer, command: LedgerCommand
) -> CommandOutcome | None:
    status = offer.status(datetime.now(UTC))
    if status != "ACTIVE":
        raise Conflict(f"offer {offer.offer_id} is {status.lower()}")
    services = tenant.services
    points = await reads.get_balance(services.pool, tenant.programme_id, command.user_id)
    if points < offer.points:  # the ledger decides; this spares it an obvious refusal
        _refuse(RejectionReason.INSUFFICIENT_POINTS, f"balance {points} < {offer.points}")
    # Pending (None) past the gateway's wait: `GET /api/partner/events/{id}` with the License-Key
    # answers it later. A retry with the same referenceId is the same command, a duplicate.
    return await book_command(services, command, redeeming.RETRY)


def _offer_of(outcome: CommandOutcome) -> object:
    explanation = outcome.explanation
    return explanation.get("offer_id") if isinstance(explanation, dict) else None


def _refuse(reason: RejectionReason | None, detail: str | None) -> NoReturn:
    """`invalid_transaction` when the ledger gave no reason, and the reason's code when no
    detail (Rejected.of)."""
    if reason is RejectionReason.INSUFFICIENT_POINTS:
        detail = f"insufficient points to redeem the offer ({detail or reason.value})"
    raise Rejected.of(reason, detail)
