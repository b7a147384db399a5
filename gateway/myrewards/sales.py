"""Sales data requests (`POST /api/v2/performance/data` and its promotion variant): check every
claim, store the request with its claims, book them all through the ledger in one command, and
answer with the outcome; and the programme's claims, listed.

Idempotency, as for points transactions (gateway.myrewards.transactions): with an
`Idempotency-Key` header the command id is derived from the programme and the key. A request whose
key is stored already is answered from what is stored: the same request gets the original answer
(201, the refusal, or, still pending, its command published again and awaited); another request
with the same key is refused with 409 `idempotency_conflict`, booking nothing. Without the header
every request is new, as in MyRewards."""

from dataclasses import dataclass
from typing import Literal

from gateway.dependencies import Services
from gateway.errors import Rejected
from gateway.myrewards import claim_store, claims, performance
from gateway.myrewards.claim_store import ListedClaim, ListedStatus, StoredRequest
from gateway.myrewards.claims import PricedClaim
from gateway.myrewards.models import SalesData
from gateway.myrewards.ports import MyRewardsStores
from gateway.publishing.answering import book_command
from schemas.ledger import RejectionReason

RETRY = "the claims could not be stored; retry with the same Idempotency-Key"
SETTLE_MAX = 100
"""Pending requests a listing asks the ledger about (those asked about least recently first)."""


@dataclass(frozen=True, slots=True)
class ClaimsAnswer:
    status: Literal["booked", "pending"]
    reference: str
    claims: int
    points: int


async def create(
    services: Services,
    programme_id: str,
    path_promotion_id: int | None,
    body: SalesData,
    idempotency_key: str | None,
) -> ClaimsAnswer:
    """`submit` with the stores in Postgres."""
    stores = MyRewardsStores.of(services.pool)
    return await submit(stores, services, programme_id, path_promotion_id, body, idempotency_key)


async def submit(
    stores: MyRewardsStores,
    services: Services,
    programme_id: str,
    path_promotion_id: int | None,
    body: SalesData,
    idempotency_key: str | None,
) -> ClaimsAnswer:
    """Checks every claim, stores the request, books it and answers with the outcome (see the
    module's docstring for a retry)."""
    promotion_id = performance.promotion_of(path_promotion_id, body)
    request_sha256 = claims.request_sha256(promotion_id, body)
    command_id = claims.command_id_for(programme_id, idempotency_key)
    if idempotency_key is not None:
        stored = await stores.claims.find(programme_id, command_id)
        if stored is not None:
            return await _answer_stored(stores, services, programme_id, stored, request_sha256)
    checked = await performance.check_claims(stores, programme_id, promotion_id, body)
    if not await stores.claims.store(
        programme_id, command_id, request_sha256, promotion_id, checked
    ):
        # A racing request with the same key stored it first: answer as its retry.
        stored = await stores.claims.find(programme_id, command_id)
        if stored is None:
            raise _conflict()  # the command id is another programme's (a hash collision)
        return await _answer_stored(stores, services, programme_id, stored, request_sha256)
    priced = [claim for claim, _ in checked]
    return await _book(
        stores, services, programme_id, command_id, priced, promotion_id, retry=False
    )


async def _answer_stored(
    stores: MyRewardsStores,
    services: Services,
    programme_id: str,
    stored: StoredRequest,
    request_sha256: bytes,
) -> ClaimsAnswer:
    if stored.request_sha256 != request_sha256:
        raise _conflict()
    if stored.status == "rejected":
        outcome = await services.outcomes_for(programme_id, stored.command_id)
        raise Rejected.of(stored.reason_code, None if outcome is None else outcome.reason)
    if stored.status == "booked":
        return ClaimsAnswer("booked", stored.command_id, stored.claims_count, stored.points)
    return await _book(
        stores,
        services,
        programme_id,
        stored.command_id,
        stored.claims,
        stored.promotion_id,
        retry=True,
    )


async def _book(
    stores: MyRewardsStores,
    services: Services,
    programme_id: str,
    command_id: str,
    priced: list[PricedClaim],
    promotion_id: int | None,
    *,
    retry: bool,
) -> ClaimsAnswer:
    """`retry`: the command may have been published before (its stored outcome answers)."""
    command = claims.command_for(programme_id, command_id, priced, promotion_id)
    outcome = await book_command(services, command, RETRY, look_first=retry)
    points = sum(claim.points for claim in priced)
    if outcome is None:
        return ClaimsAnswer("pending", command_id, len(priced), points)
    await stores.claims.settle(command_id, outcome)
    if claim_store.is_refusal(outcome):
        raise Rejected.of(outcome.reason_code, outcome.reason)
    return ClaimsAnswer("booked", command_id, len(priced), points)


def _conflict() -> Rejected:
    return Rejected.of(
        RejectionReason.IDEMPOTENCY_CONFLICT, "the Idempotency-Key was used for other claims"
    )


async def listed(
    services: Services, programme_id: str, status: ListedStatus, page: int, num_of_items: int
) -> tuple[list[ListedClaim], int]:
    """`listing` with the stores in Postgres."""
    stores = MyRewardsStores.of(services.pool)
    return await listing(stores, programme_id, status, page, num_of_items)


async def listing(
    stores: MyRewardsStores, programme_id: str, status: ListedStatus, page: int, num_of_items: int
) -> tuple[list[ListedClaim], int]:
    """The programme's claims of `status`, oldest first, once the pending requests the ledger
    has decided meanwhile are settled."""
    await settle_pending(stores, programme_id)
    return await stores.claims.page(programme_id, status, page, num_of_items)


async def settle_pending(stores: MyRewardsStores, programme_id: str) -> None:
    """Settle the programme's pending requests whose outcome the ledger has stored (at most
    SETTLE_MAX of them, those asked about least recently first); the others are marked as
    asked, so that a request whose command never reached the ledger does not hold up the rest."""
    command_ids = await stores.claims.pending(programme_id, SETTLE_MAX)
    if not command_ids:
        return
    outcomes = await stores.ledger.get_outcomes(command_ids)
    for command_id, outcome in outcomes.items():
        await stores.claims.settle(command_id, outcome)
    unsettled = [command_id for command_id in command_ids if command_id not in outcomes]
    if unsettled:
        await stores.claims.mark_asked(unsettled)
