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
from gateway.publishing.answering import book_command
from ledger import reads
from schemas.ledger import RejectionReason

RETRY = "the claims could not be stored; retry with the same Idempotency-Key"


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
    promotion_id = performance.promotion_of(path_promotion_id, body)
    request_sha256 = claims.request_sha256(promotion_id, body)
    command_id = claims.command_id_for(programme_id, idempotency_key)
    pool = services.pool
    if idempotency_key is not None:
        stored = await claim_store.find(pool, programme_id, command_id)
        if stored is not None:
            return await _answer_stored(services, programme_id, stored, request_sha256)
    checked = await performance.check_claims(pool, programme_id, promotion_id, body)
    if not await claim_store.store(
        pool, programme_id, command_id, request_sha256, promotion_id, checked
    ):
        # A racing request with the same key stored it first: answer as its retry.
        stored = await claim_store.find(pool, programme_id, command_id)
        if stored is None:
            raise _conflict()  # the command id is another programme's (a hash collision)
        return await _answer_stored(services, programme_id, stored, request_sha256)
    priced = [claim for claim, _ in checked]
    return await _book(services, programme_id, command_id, priced, promotion_id, retry=False)


async def _answer_stored(
    services: Services, programme_id: str, stored: StoredRequest, request_sha256: bytes
) -> ClaimsAnswer:
    if stored.request_sha256 != request_sha256:
        raise _conflict()
    if stored.status == "rejected":
        outcome = await reads.get_outcome(
            services.pool, stored.command_id, programme_id=programme_id
        )
        raise Rejected.of(stored.reason_code, None if outcome is None else outcome.reason)
    if stored.status == "booked":
        return ClaimsAnswer("booked", stored.command_id, stored.claims_count, stored.points)
    return await _book(
        services, programme_id, stored.command_id, stored.claims, stored.promotion_id, retry=True
    )


async def _book(
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
    await claim_store.settle(services.pool, command_id, outcome)
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
    """The programme's claims of `status`, oldest first, once the pending requests the ledger
    has decided meanwhile are settled."""
    await claim_store.settle_pending(services.pool, programme_id)
    return await claim_store.page(services.pool, programme_id, status, page, num_of_items)
