"""The partner API's request and response bodies (mgPass partner guide)."""

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from ledger.reads import Transaction
from schemas.events import Identifier
from schemas.ledger import RejectionReason
from schemas.reasons import ReasonCode

MAX_METADATA_KEYS = 64


def rfc3339_text(value: object) -> object:
    """A date-time field's value before pydantic reads it: text or None. pydantic would read a
    number as seconds since 1970; the contract says RFC 3339 text."""
    if value is not None and not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string with a time zone")
    return value


class PartnerEventRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"user_id": "usr_abc123", "event_type": "article_read"},
                {
                    "user_id": "usr_abc123",
                    "event_type": "purchase",
                    "metadata": {
                        "reference_id": "order_789",
                        "amount": 150.00,
                        "currency": "GHS",
                        "item_count": 3,
                    },
                },
            ]
        },
    )

    user_id: Identifier
    event_type: Identifier
    metadata: dict[str, JsonValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="When the user acted; the gateway's clock if absent. It must lie within the "
        "programme's event-time policy around the gateway's clock (by default from 7 days before "
        "to 5 minutes after), else 400 invalid_request naming the bound.",
    )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: object) -> object:
        return rfc3339_text(value)

    def reference_id(self) -> str | None:
        reference = self.metadata.get("reference_id")
        return None if reference is None else str(reference)


class EventAnswer(BaseModel):
    """`processed` carries the points booked; `pending` means the outcome was not known within
    the gateway's deadline: `GET /api/partner/events/{event_id}` answers it later."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"accepted": True, "points_awarded": 150, "event_id": "evt_xyz789"},
                {"accepted": True, "points_awarded": 0, "event_id": "evt_xyz789"},
            ]
        }
    )

    accepted: Literal[True] = True
    event_id: str
    status: Literal["processed", "rejected", "pending"] = "processed"
    points_awarded: int | None = None
    reason_code: ReasonCode | RejectionReason | None = Field(
        default=None,
        description=(
            "Why the event earned nothing or less than its rules' amount (a cap, a frequency "
            "limit, a budget, no matching rule, a missing parameter, ...), or why the ledger "
            "refused it; null for a full award and while pending."
        ),
    )
    reason: str | None = Field(
        default=None,
        description="The same in words, e.g. \"rule 'read': daily cap 20: cut from 5 to 0\".",
    )


class EventOutcome(EventAnswer):
    balance_after: int | None = None
    explanation: JsonValue = None


class ErrorBody(BaseModel):
    error: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["user_id: Field required"])
    event_id: str | None = Field(
        default=None, description="idempotency_conflict: the event the reference stands for."
    )


class Balance(BaseModel):
    user_id: str
    balance: int


class TransactionOut(BaseModel):
    """MyRewards' transaction: `value` is signed, `balance` is the user's balance after it."""

    id: int
    user_id: str
    description: str
    value: int
    balance: int
    transaction_type: str
    variety: str
    remote_transaction_id: str | None
    event_id: str | None
    created_at: AwareDatetime

    @classmethod
    def of(cls, transaction: Transaction) -> "TransactionOut":
        return cls(
            id=transaction.id,
            user_id=transaction.user_id,
            description=transaction.description,
            value=transaction.value,
            balance=transaction.balance,
            transaction_type=transaction.transaction_type,
            variety=transaction.variety,
            remote_transaction_id=transaction.remote_transaction_id,
            event_id=transaction.source_event_id,
            created_at=transaction.created_at,
        )


class TransactionsPage(BaseModel):
    transactions: list[TransactionOut]
    totalCount: int


def error_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """An error answer in the OpenAPI document: its body's model and what it means."""
    return {"model": model, "description": description}


ERRORS: dict[int | str, dict[str, object]] = {
    400: error_doc(
        ErrorBody,
        "invalid_request: a missing user_id or event_type, a malformed request, or an "
        "occurred_at outside the programme's event-time policy (the message names the bound)",
    ),
    402: error_doc(ErrorBody, "insufficient_points: a redemption the user's balance cannot cover"),
    401: error_doc(ErrorBody, "unauthorized: a missing or unknown API key"),
    403: error_doc(ErrorBody, "forbidden: the event type is not in the partner's allowed list"),
    404: error_doc(ErrorBody, "not_found: unknown here (other programmes' data is invisible)"),
    409: error_doc(
        ErrorBody,
        "conflict: the rule is not active or outside its validity window; or "
        "idempotency_conflict: the reference_id was already used with another payload (the body "
        "names the original `event_id`)",
    ),
    429: error_doc(ErrorBody, "rate_limit_exceeded: too many requests; see Retry-After"),
    503: error_doc(ErrorBody, "unavailable: Kafka or the configuration is not reachable; retry"),
}
