"""MyRewards API (seed 002): programme-scoped keys (`Authorization: Token token=...`), users,
user groups, registration questions, points transactions and performance data.

Bodies are JSON or HTML form data (gateway.myrewards.bodies); errors are the gateway's JSON
`{"error": <code>, "message": <text>}` with the seed's statuses. The decisions taken where the
seed is silent are written where they are implemented: idempotency and transaction ids in
gateway.myrewards.transactions, registration rules in gateway.myrewards.registration, claims'
checks in gateway.myrewards.performance, what they earn and how a request is booked in
gateway.myrewards.claims, their storage and listing in gateway.myrewards.claim_store and
gateway.myrewards.sales."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response

from gateway.dependencies import ServicesDep
from gateway.errors import ErrorBody, error_doc
from gateway.myrewards import performance, points, sales, transactions, user_store, users
from gateway.myrewards.access import CallerDep
from gateway.myrewards.bodies import read_body
from gateway.myrewards.claim_store import ListedStatus
from gateway.myrewards.models import (
    ID_MAX,
    ClaimOut,
    ClaimsCreated,
    ClaimsPage,
    ClaimsPending,
    DataFieldOut,
    MyRewardsTransaction,
    PromotionDataFieldOut,
    RegistrationQuestionOut,
    SalesData,
    TransactionCreated,
    TransactionForm,
    TransactionPending,
    TransactionRequest,
    UserFields,
    UserGroupOut,
    UserOut,
)
from gateway.myrewards.ports import MyRewardsStores
from gateway.openapi import component
from gateway.user_ledger import PostgresUserLedger
from ledger import reads

UserId = Annotated[int, Path(ge=1, le=ID_MAX, description="The MyRewards user id.")]
PromotionId = Annotated[int, Path(ge=1, le=ID_MAX)]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: error_doc(
        ErrorBody, "invalid_request: a malformed request or one the programme's rules refuse"
    ),
    401: error_doc(ErrorBody, "unauthorized: invalid key"),
    404: error_doc(ErrorBody, "not_found: unknown in the key's programme"),
    409: error_doc(ErrorBody, "conflict: the user's identifying field is taken"),
    503: error_doc(ErrorBody, "unavailable: Kafka or Postgres is not reachable; retry"),
}
router = APIRouter(tags=["MyRewards"], responses=ERRORS)
# Added to the router's ERRORS (a route's own answer for a status replaces the router's).
TRANSACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {"model": TransactionPending, "description": "accepted, not booked within the deadline"},
    204: {"description": "User not found"},
    402: error_doc(ErrorBody, "insufficient_points: User does not have enough points"),
    406: error_doc(
        ErrorBody, "invalid_transaction: Invalid Transaction (variety and type, counterparty)"
    ),
    409: error_doc(
        ErrorBody, "idempotency_conflict: the Idempotency-Key was used with another transaction"
    ),
    412: error_doc(ErrorBody, "programme_budget_exhausted: Programme does not have enough points"),
}


def _body(*models: tuple[str, Any]) -> dict[str, Any]:
    content = {media_type: {"schema": component(model)} for media_type, model in models}
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "/api/v1/users/{user_id}/transactions",
    response_model=TransactionCreated,
    responses=TRANSACTION_ERRORS,
    openapi_extra=_body(
        ("application/json", TransactionRequest),
        ("application/x-www-form-urlencoded", TransactionForm),
    ),
)
async def create_transaction(
    user_id: UserId,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=transactions.IDEMPOTENCY_KEY_LENGTH_MAX,
            description="Makes a retry safe: the same key answers the same transaction.",
        ),
    ] = None,
) -> Any:
    """Credit or debit a user's points; 200 `{"id": <transaction id>}` once the ledger booked it.
    A Person 2 Person Transfer names the other user in `counterparty_user_id` and books both
    legs in one transaction."""
    body = await read_body(request, TransactionRequest)
    stores = MyRewardsStores.of(services.pool)
    answer = await points.create(
        stores, services, caller.programme_id, user_id, body.transaction, idempotency_key
    )
    if answer is None:
        return Response(status_code=204)
    if isinstance(answer, TransactionPending):
        return Response(answer.model_dump_json(), 202, media_type="application/json")
    return answer


@router.get(
    "/api/v2/users/{user_id}/transactions",
    response_model=list[MyRewardsTransaction],
)
async def list_transactions(
    user_id: UserId,
    caller: CallerDep,
    services: ServicesDep,
    after_id: Annotated[int, Query(ge=0, le=2**62, description="Page on: the last id seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=reads.TRANSACTIONS_LIMIT_MAX)] = (
        reads.TRANSACTIONS_LIMIT_MAX
    ),
) -> list[MyRewardsTransaction]:
    """The user's transactions, the most recent last, each with the balance after it: all of
    them up to `limit` (10,000); a longer history pages on with `after_id`, the last id seen."""
    stores = MyRewardsStores.of(services.pool)
    return await points.history(
        stores, caller.programme_id, user_id, after_id=after_id, limit=limit
    )


@router.get(
    "/api/v2/users/{user_id}/transactions/last",
    response_model=MyRewardsTransaction,
)
async def last_transaction(
    user_id: UserId, caller: CallerDep, services: ServicesDep
) -> MyRewardsTransaction:
    """The user's latest transaction: its `balance` is the user's current balance."""
    return await points.last(MyRewardsStores.of(services.pool), caller.programme_id, user_id)


USER_BODY = _body(("application/json", UserFields))


@router.post(
    "/api/v2/users",
    status_code=201,
    response_model=UserOut,
    openapi_extra=USER_BODY,
)
async def create_user(request: Request, caller: CallerDep, services: ServicesDep) -> UserOut:
    body = await read_body(request, UserFields)
    made = await users.create(services.pool, caller.programme_id, body)
    return await _with_tier(services, caller.programme_id, made)


@router.get("/api/v2/users/{user_id}", response_model=UserOut)
async def get_user(user_id: UserId, caller: CallerDep, services: ServicesDep) -> UserOut:
    """The user as the create and update answers show them, with their tier and the progress
    to the next one."""
    found = await users.find(services.pool, caller.programme_id, user_id)
    return await _with_tier(services, caller.programme_id, found)


@router.put("/api/v2/users/{user_id}", response_model=UserOut, openapi_extra=USER_BODY)
@router.patch("/api/v2/users/{user_id}", response_model=UserOut, openapi_extra=USER_BODY)
async def update_user(
    user_id: UserId, request: Request, caller: CallerDep, services: ServicesDep
) -> UserOut:
    """PUT and PATCH alike: only the fields given change."""
    body = await read_body(request, UserFields)
    updated = await users.update(services.pool, caller.programme_id, user_id, body)
    return await _with_tier(services, caller.programme_id, updated)


async def _with_tier(services: ServicesDep, programme_id: str, user: UserOut) -> UserOut:
    config = services.catalog.config(programme_id)
    ledger = PostgresUserLedger(services.pool)
    return await users.with_tier(ledger, config, user, datetime.now(UTC))


@router.get("/api/v2/user_groups", response_model=list[UserGroupOut])
@router.get("/api/v2/user_group", response_model=list[UserGroupOut])
async def user_groups(caller: CallerDep, services: ServicesDep) -> list[UserGroupOut]:
    """A flat list; `parent_id` rebuilds the hierarchy. (`/user_group` is the seed example's
    spelling of the same endpoint.)"""
    return await user_store.user_groups(services.pool, caller.programme_id)


@router.get(
    "/api/v2/registration_questions",
    response_model=list[RegistrationQuestionOut],
)
async def registration_questions(
    caller: CallerDep, services: ServicesDep
) -> list[RegistrationQuestionOut]:
    return await user_store.registration_questions(services.pool, caller.programme_id)


@router.get(
    "/api/v2/performance/data_fields",
    response_model=list[DataFieldOut],
)
async def programme_data_fields(caller: CallerDep, services: ServicesDep) -> list[DataFieldOut]:
    """The programme's own data fields (those of no promotion), in their form's order."""
    return await performance.data_fields(services.pool, caller.programme_id)


@router.get(
    "/api/v2/performance/promotions/{promotion_id}/data_fields",
    response_model=list[PromotionDataFieldOut],
)
async def promotion_data_fields(
    promotion_id: PromotionId, caller: CallerDep, services: ServicesDep
) -> list[PromotionDataFieldOut]:
    """The promotion's data fields; 404 for a promotion that is not the programme's or active."""
    return await performance.promotion_data_fields(services.pool, caller.programme_id, promotion_id)


SALES_BODY = _body(("application/json", SalesData))
SALES_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"model": ClaimsCreated, "description": "Created: every claim is stored and booked"},
    202: {
        "model": ClaimsPending,
        "description": "stored and accepted, not booked within the deadline",
    },
    400: error_doc(
        ErrorBody,
        "invalid_request: a malformed request, or a claim the programme refuses (unknown user "
        "or product, a data field missing or malformed), named by its index; nothing is stored",
    ),
    409: error_doc(
        ErrorBody, "idempotency_conflict: the Idempotency-Key was used with other claims"
    ),
    412: error_doc(
        ErrorBody,
        "programme_budget_exhausted: Programme does not have enough points; nothing is booked "
        "or stored",
    ),
}
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=transactions.IDEMPOTENCY_KEY_LENGTH_MAX,
        description="Makes a retry safe: the same key answers the same request.",
    ),
]


@router.post(
    "/api/v2/performance/data",
    status_code=201,
    response_model=ClaimsCreated,
    responses=SALES_ANSWERS,
    openapi_extra=SALES_BODY,
)
async def create_sales_data(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Claims against performance products (and a promotion with `promotion_id`), all or
    nothing: each earns its product's points per unit times its quantity, credited to its user
    (`user_id`, or `username` as username or email) from the programme's budget, in one ledger
    command. 201 once booked; 202 with the reference if not booked within the deadline."""
    body = await read_body(request, SalesData)
    return await _claims_answer(services, caller.programme_id, None, body, idempotency_key)


@router.post(
    "/api/v2/performance/promotions/{promotion_id}/data",
    status_code=201,
    response_model=ClaimsCreated,
    responses=SALES_ANSWERS,
    openapi_extra=SALES_BODY,
)
async def create_promotion_sales_data(
    promotion_id: PromotionId,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The same, for the promotion in the path (404 if it is not the programme's or active)."""
    body = await read_body(request, SalesData)
    return await _claims_answer(services, caller.programme_id, promotion_id, body, idempotency_key)


async def _claims_answer(
    services: ServicesDep,
    programme_id: str,
    promotion_id: int | None,
    body: SalesData,
    idempotency_key: str | None,
) -> Any:
    answer = await sales.create(services, programme_id, promotion_id, body, idempotency_key)
    if answer.status == "pending":
        pending = ClaimsPending(reference=answer.reference)
        return Response(pending.model_dump_json(), 202, media_type="application/json")
    return ClaimsCreated(reference=answer.reference, claims=answer.claims, points=answer.points)


@router.get("/api/v2/performance/data", response_model=ClaimsPage)
async def list_sales_data(
    caller: CallerDep,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    num_of_items: Annotated[int, Query(alias="numOfItems", ge=1, le=reads.PAGE_SIZE_MAX)] = 50,
    status: Annotated[
        ListedStatus,
        Query(description="booked (the default), pending, or stored (before claims earned)."),
    ] = "booked",
) -> ClaimsPage:
    """The programme's claims, oldest first (the most recent last, as MyRewards lists
    transactions), `page` from 1 of `numOfItems`, with the `totalCount`. A claim is listed as
    booked once the ledger has booked its request; a refused request's claims are never listed."""
    found, total = await sales.listed(services, caller.programme_id, status, page, num_of_items)
    return ClaimsPage(
        data=[ClaimOut.model_validate(claim, from_attributes=True) for claim in found],
        totalCount=total,
    )
