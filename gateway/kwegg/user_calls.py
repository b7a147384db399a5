"""What the Kwegg API's calls do, apart from HTTP (seed 003): log a user in, read their balance
and transactions, list the offers and redeem one. Each takes the slice's stores
(`gateway.kwegg.ports.KweggStores`: Postgres in the process, in-memory fakes in
tests/unit/gateway/kwegg) and the instant it runs at; a redemption is booked and answered
through the shared path's ports, held by the tenant's services. A refusal raises an ApiError
(`gateway.errors`), which the routes answer in Kwegg's envelope."""

from datetime import datetime
from typing import NoReturn

from gateway import tier_standing
from gateway.errors import Conflict, NotFound, Rejected
from gateway.kwegg import redeeming, sessions, tokens, views
from gateway.kwegg.access import Tenant, UserCall, require_same_user
from gateway.kwegg.models import (
    BalanceData,
    ExpiringPoints,
    KweggAnswer,
    KweggUser,
    LoginData,
    OffersData,
    RedeemRequest,
    RedemptionData,
    TransactionsData,
)
from gateway.kwegg.offers import Offer
from gateway.kwegg.ports import KweggStores
from gateway.kwegg.tokens import Session
from gateway.publishing.answering import book_command
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason


async def login(
    stores: KweggStores, tenant: Tenant, user_id: str, now: datetime
) -> KweggAnswer[LoginData]:
    """A new access token for the user (any user id the tenant sends is its user), with the
    user's balance and tier (absent while the programme's configuration is not loaded)."""
    settings, programme_id = tenant.services.settings, tenant.programme_id
    expires_at = tokens.expiry(now, settings.kwegg_token_ttl_s)
    session = Session(programme_id, tenant.principal.partner_id, user_id, expires_at)
    token = await sessions.issue(
        stores.tokens, session, tenant.platform, now, settings.kwegg_tokens_per_user_max
    )
    balance = await stores.ledger.get_balance(programme_id, user_id)
    config = tenant.services.catalog.config(programme_id)
    tier = None
    if config is not None:
        assigned = await stores.ledger.assigned_tier(programme_id, user_id)
        tier = tier_standing.standing(config, assigned, None).tier
    user = KweggUser(userId=user_id, balance=balance, tier=tier)
    data = LoginData(accessToken=token, expiresAt=expires_at, user=user)
    return KweggAnswer(message="Login successfully", data=data)


async def balance(
    stores: KweggStores, call: UserCall, user_id: str | None, now: datetime
) -> KweggAnswer[BalanceData]:
    """The token's user's points (0 before their first booking), pending and expiring, and their
    tier as of `now`; `user_id`, when given, must be the token's user (403)."""
    require_same_user(call, user_id)
    programme_id = call.tenant.programme_id
    holdings = await stores.ledger.find_holdings(programme_id, call.user_id)
    data = BalanceData(balance=0)
    if holdings is not None:
        expiring = [
            ExpiringPoints(date=e.expires_on, expiresAt=e.expires_at, points=e.points)
            for e in holdings.expiring
        ]
        data = BalanceData(
            balance=holdings.balance, pending=holdings.pending_points, expiring=expiring
        )
    config = call.tenant.services.catalog.config(programme_id)
    if config is not None:
        found = await tier_standing.tier_standing(stores.ledger, config, call.user_id, now)
        data.tier = views.tier(found)
    return KweggAnswer(message="Balance fetched successfully", data=data)


async def transactions(
    stores: KweggStores, call: UserCall, *, page: int, num_of_items: int
) -> KweggAnswer[TransactionsData]:
    found = await stores.ledger.transactions_page(
        call.tenant.programme_id, call.user_id, page=page, num_of_items=num_of_items
    )
    data = TransactionsData(
        transactions=[views.transaction(each) for each in found.transactions],
        totalCount=found.total_count,
    )
    return KweggAnswer(message="Transactions fetched successfully", data=data)


async def offers(
    stores: KweggStores, tenant: Tenant, *, page: int, num_of_items: int, now: datetime
) -> KweggAnswer[OffersData]:
    """The programme's offers with their status at `now`."""
    found = await stores.offers.page_of(tenant.programme_id, page=page, num_of_items=num_of_items)
    data = OffersData(
        offers=[views.offer(each, now) for each in found.offers], totalCount=found.total_count
    )
    return KweggAnswer(message="Offers fetched successfully", data=data)


async def redeem(
    stores: KweggStores, call: UserCall, offer_id: str, request: RedeemRequest, now: datetime
) -> KweggAnswer[RedemptionData]:
    """Debits the offer's points for the token's user; `data.status` is `pending` when the
    ledger has not answered within the gateway's wait. A retry with the same `referenceId` is
    answered with the original outcome, even if the offer has ended since; the same reference
    for another offer is 409 `conflict`. 404 for an unknown offer, 409 for an inactive or
    expired one, 402 `insufficient_points` when the balance is short."""
    require_same_user(call, request.userId)
    tenant = call.tenant
    offer = await stores.offers.find(tenant.programme_id, offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id} in this programme")
    command = redeeming.redemption_command(
        tenant.programme_id, tenant.principal.partner_id, call.user_id, offer, request.referenceId
    )
    outcome = None
    if request.referenceId is not None:
        outcome = await tenant.services.outcomes_for(tenant.programme_id, command.command_id)
    if outcome is None:
        outcome = await _redeem(stores, tenant, offer, command, now)
    elif _offer_of(outcome) != offer.offer_id:
        raise Conflict(f"referenceId {request.referenceId} was used to redeem another offer")
    if outcome is not None and outcome.status is OutcomeStatus.REJECTED:
        _refuse(outcome.reason_code, outcome.reason)
    data = views.redemption(command.command_id, offer.offer_id, offer.points, outcome)
    return KweggAnswer(message="Offer redeemed successfully", data=data)


async def _redeem(
    stores: KweggStores, tenant: Tenant, offer: Offer, command: LedgerCommand, now: datetime
) -> CommandOutcome | None:
    status = offer.status(now)
    if status != "ACTIVE":
        raise Conflict(f"offer {offer.offer_id} is {status.lower()}")
    points = await stores.ledger.get_balance(tenant.programme_id, command.user_id)
    if points < offer.points:  # the ledger decides; this spares it an obvious refusal
        _refuse(RejectionReason.INSUFFICIENT_POINTS, f"balance {points} < {offer.points}")
    # Pending (None) past the gateway's wait: `GET /api/partner/events/{id}` with the License-Key
    # answers it later. A retry with the same referenceId is the same command, a duplicate.
    return await book_command(tenant.services, command, redeeming.RETRY)


def _offer_of(outcome: CommandOutcome) -> object:
    explanation = outcome.explanation
    return explanation.get("offer_id") if isinstance(explanation, dict) else None


def _refuse(reason: RejectionReason | None, detail: str | None) -> NoReturn:
    """`invalid_transaction` when the ledger gave no reason, and the reason's code when no
    detail (Rejected.of)."""
    if reason is RejectionReason.INSUFFICIENT_POINTS:
        detail = f"insufficient points to redeem the offer ({detail or reason.value})"
    raise Rejected.of(reason, detail)
