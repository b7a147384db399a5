"""The partner API's request and response bodies (mgPass partner guide)."""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from ledger.reads import Transaction
from schemas.events import Identifier

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


class Balance(BaseModel):
    user_id: str
    balance: int
    as_of: datetime | None = Field(
        default=None, description="The instant the balance was read as of, when one was asked."
    )


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
