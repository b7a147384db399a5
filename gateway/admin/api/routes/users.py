"""A programme's users: balance and tier, transactions with their explanations, a manual
adjustment booked through the ledger, setting a tier."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway import errors as http_errors
from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import adjustments, users
from gateway.admin.service.adjustments import Adjustment
from gateway.partner.models import (
    AVAILABLE_ON_DESCRIPTION,
    AWARD_STATUS_DESCRIPTION,
    PendingAwardOut,
)
from ledger import reads
from schemas.events import Identifier
from schemas.ledger import CommandOutcome

router = APIRouter(tags=["users"])


class TierOut(BaseModel):
    name: str
    assigned: bool = Field(description="False: the programme's default tier (never assigned).")
    event_id: str | None = Field(description="The `tier.assigned` event that set it.")
    assigned_at: datetime | None
    in_programme: bool = Field(
        description="False when the programme no longer has this tier (the default tier earns)."
    )
    reason: str | None = Field(
        default=None,
        description="Why the tier last changed: threshold_crossed, downgrade_policy or manual. "
        "None for the default tier never changed.",
    )
    review_on: date | None = Field(
        default=None,
        description="The programme's local day the tier policy reviews it; None: never.",
    )

    @classmethod
    def of(cls, tier: users.UserTier) -> "TierOut":
        assigned = tier.assigned
        return cls(
            name=tier.name,
            assigned=assigned is not None,
            event_id=None if assigned is None else assigned.command_id,
            assigned_at=None if assigned is None else assigned.recorded_at,
            in_programme=tier.known_tier,
            reason=None if assigned is None else assigned.reason,
            review_on=None if assigned is None else assigned.review_on,
        )


class TierChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    command_id: str = Field(description="The event whose decision changed the tier.")
    from_tier: str = Field(description="Empty for an assignment recorded before changes were.")
    to_tier: str
    reason: str = Field(description="threshold_crossed, downgrade_policy or manual.")
    review_on: date | None
    recorded_at: datetime


class UserOut(BaseModel):
    programme_id: str
    user_id: str
    balance: int
    tier: TierOut
    known: bool = Field(description="False: nothing booked and no tier assigned yet.")
    tier_changes: list[TierChangeOut] = Field(
        default_factory=list, description="The latest changes of the tier, newest first."
    )


class TransactionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entry_id: int
    command_id: str
    transaction_type: str
    variety: str
    points: int = Field(description="Signed: negative for a debit.")
    balance_after: int
    reason: str
    remote_transaction_id: str | None
    counterparty_user_id: str | None
    reverses_entry_id: int | None
    source_event_id: str | None
    rule_id: str | None
    rule_version: int | None
    occurred_at: datetime | None
    recorded_at: datetime
    status: Literal["pending", "available", "cancelled"] | None = Field(
        default=None, description=AWARD_STATUS_DESCRIPTION.replace("`value`", "`points`")
    )
    available_on: date | None = Field(default=None, description=AVAILABLE_ON_DESCRIPTION)
    available_at: datetime | None = Field(
        default=None, description="Only on a pending award: the instant of `available_on`."
    )
    pending: PendingAwardOut | None = Field(
        default=None, description="Only on a pending award: its points and where they went."
    )

    @classmethod
    def of(cls, entry: reads.UserEntry) -> "TransactionOut":
        found = cls.model_validate(entry)
        award = entry.pending
        if award is None:
            return found
        return found.model_copy(
            update={
                "status": award.status,
                "available_on": award.available_on,
                "available_at": award.available_at,
                "pending": PendingAwardOut.of(award),
            }
        )


class TransactionsPage(BaseModel):
    transactions: list[TransactionOut] = Field(description="Newest first.")
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null at the end."
    )


class OutcomeOut(BaseModel):
    command_id: str
    status: str = Field(description="`booked`, `duplicate` or `rejected`.")
    points: int
    balance_after: int | None
    reason_code: str | None
    reason: str | None
    explanation: JsonValue = Field(
        description="The decision's explanation: the tier and programme version used, every "
        "rule tried with its outcome and reason; for a manual booking, who and why."
    )
    recorded_at: datetime | None

    @classmethod
    def of(cls, outcome: CommandOutcome) -> "OutcomeOut":
        explained = outcome.explanation if isinstance(outcome.explanation, dict) else {}
        code = outcome.reason_code.value if outcome.reason_code else None
        return cls(
            command_id=outcome.command_id, status=outcome.status.value, points=outcome.points,
            balance_after=outcome.balance_after,
            reason_code=code or _text(explained.get("reason_code")),
            reason=outcome.reason or _text(explained.get("reason")),
            explanation=outcome.explanation, recorded_at=outcome.recorded_at,
        )  # fmt: skip


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ExplainedOut(BaseModel):
    transaction: TransactionOut
    outcome: OutcomeOut | None = Field(description="Null if the ledger stored none (older data).")


class AdjustmentOut(BaseModel):
    command_id: str
    status: str = Field(description="`booked` or `pending` (not booked within the wait).")
    outcome: OutcomeOut | None


class TierBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Identifier = Field(description="One of the programme's tiers.")
    reference: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None,
        description="Makes the assignment idempotent: the same reference again changes nothing.",
    )


class TierSetOut(BaseModel):
    event_id: str
    tier: str
    status: str = Field(
        description="`set` once decided, `pending` until then; `refused` when the decision "
        "did not assign it (its reason says why)."
    )
    outcome: OutcomeOut | None


IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=adjustments.KEY_LENGTH_MAX,
        description="A one-time key: the same key again books nothing more and answers the "
        "original outcome; with another adjustment it is refused (409).",
    ),
]
_REFUSED: dict[int | str, dict[str, Any]] = {
    402: {"description": "The ledger refused the debit: the user's balance is short."},
    409: {"description": "The Idempotency-Key was used for another adjustment."},
    412: {"description": "The ledger refused the credit: the funded budget is short."},
}


@router.get("/programmes/{programme_id}/users/{user_id}", response_model=UserOut)
async def get_user(request: Request, actor: ActorDep, programme_id: str, user_id: str) -> UserOut:
    """A user the ledger never saw answers with balance 0 in the default tier (`known` false)."""
    found = await users.find(console_of(request).backend.pool, actor, programme_id, user_id)
    return UserOut(
        programme_id=found.programme_id, user_id=found.user_id, balance=found.balance,
        tier=TierOut.of(found.tier), known=found.known,
        tier_changes=[TierChangeOut.model_validate(c) for c in found.tier_changes],
    )  # fmt: skip


@router.get(
    "/programmes/{programme_id}/users/{user_id}/transactions", response_model=TransactionsPage
)
async def list_transactions(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    user_id: str,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=reads.ENTRIES_PAGE_MAX)] = 50,
) -> TransactionsPage:
    found = await users.transactions(
        console_of(request).backend.pool, actor, programme_id, user_id,
        before_id=before_id, limit=limit,
    )  # fmt: skip
    page = [TransactionOut.of(entry) for entry in found]
    return TransactionsPage(
        transactions=page, next_before_id=found[-1].entry_id if len(found) == limit else None
    )


@router.get(
    "/programmes/{programme_id}/users/{user_id}/transactions/{entry_id}",
    response_model=ExplainedOut,
)
async def explain_transaction(
    request: Request, actor: ActorDep, programme_id: str, user_id: str, entry_id: int
) -> ExplainedOut:
    """Why these points: the entry with its command's stored outcome and explanation."""
    found = await users.explained(
        console_of(request).backend.pool, actor, programme_id, user_id, entry_id
    )
    outcome = None if found.outcome is None else OutcomeOut.of(found.outcome)
    return ExplainedOut(transaction=TransactionOut.of(found.entry), outcome=outcome)


@router.post(
    "/programmes/{programme_id}/users/{user_id}/adjustments",
    status_code=201,
    response_model=AdjustmentOut,
    responses={202: {"model": AdjustmentOut, "description": "Not booked yet."}, **_REFUSED},
)
async def adjust(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    user_id: str,
    body: Adjustment,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """A Credit or Debit of variety Adjustment, booked through the ledger: 201 once booked,
    202 while pending, the ledger's refusal (402 `insufficient_points`, ...) otherwise."""
    done = await adjustments.adjust(
        console_of(request).backend, actor, programme_id, user_id, body, idempotency_key
    )
    outcome = done.outcome
    if outcome is not None and done.status == "rejected" and outcome.reason_code is not None:
        code = outcome.reason_code
        body_ = http_errors.error_body(code.value, outcome.reason or code.value)
        return JSONResponse(body_ | {"command_id": done.command_id}, code.http_status)
    answer = AdjustmentOut(
        command_id=done.command_id,
        status=done.status,
        outcome=None if outcome is None else OutcomeOut.of(outcome),
    )
    return JSONResponse(answer.model_dump(mode="json"), 202 if outcome is None else 201)


@router.put(
    "/programmes/{programme_id}/users/{user_id}/tier",
    response_model=TierSetOut,
    responses={202: {"model": TierSetOut, "description": "Not decided yet."}},
)
async def set_tier(
    request: Request, actor: ActorDep, programme_id: str, user_id: str, body: TierBody
) -> Any:
    """Publishes a `tier.assigned` record (as `loyalty-admin set-tier`): 200 once decided."""
    done = await users.set_tier(
        console_of(request).backend, actor, programme_id, user_id, body.tier, body.reference
    )
    outcome = done.outcome
    answer = TierSetOut(
        event_id=done.event_id,
        tier=done.tier,
        status=done.status,
        outcome=None if outcome is None else OutcomeOut.of(outcome),
    )
    return JSONResponse(answer.model_dump(mode="json"), 202 if outcome is None else 200)
