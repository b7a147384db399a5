"""The partner API's request and response bodies (mgPass partner guide)."""

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from ledger.reads import Holdings, PendingAwardState, TierAssignment, TierChangeRow, Transaction
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


class ExpiringPoints(BaseModel):
    expires_on: date = Field(description="The programme's local day at whose midnight they expire.")
    expires_at: AwareDatetime = Field(description="That midnight, as an instant.")
    points: int


class PendingAward(BaseModel):
    award: str = Field(description="The award holding the points (its ledger idempotency key).")
    reference_id: str = Field(
        description="The earning event's reference (its event id when it had none): what a "
        "confirming event names in `metadata.original_reference_id`."
    )
    points: int
    release_on: date | None = Field(
        default=None,
        description="The programme's local day at whose midnight they become available; null: "
        "only a confirmation releases them.",
    )
    release_at: AwareDatetime | None = Field(default=None, description="That midnight.")
    confirmed_by: str | None = Field(
        default=None, description="The event type that makes them available at once."
    )


class PendingBlock(BaseModel):
    points: int = Field(description="Pending points in all: not in `balance`, not spendable.")
    awards: list[PendingAward] = Field(
        default_factory=list, description="Each pending award, earliest release first."
    )


class Balance(BaseModel):
    user_id: str
    balance: int
    available: int | None = Field(
        default=None,
        description="The points the user can spend now (the balance, 0 when it is negative).",
    )
    expiring: list[ExpiringPoints] = Field(
        default_factory=list,
        description="The user's points that expire, by the day they expire on, earliest first "
        "(at most 12 days); points that never expire are not listed.",
    )

    pending: PendingBlock | None = Field(
        default=None,
        description="Points awarded as pending (a return window or a confirmation to come), "
        "held beside the balance: they become available when the window ends or the "
        "confirming event arrives. Absent for a balance read as of an instant.",
    )

    as_of: datetime | None = Field(
        default=None, description="The instant the balance was read as of, when one was asked."
    )

    @classmethod
    def of(cls, user_id: str, holdings: Holdings) -> "Balance":
        return cls(
            user_id=user_id,
            balance=holdings.balance,
            available=holdings.available,
            expiring=[
                ExpiringPoints(expires_on=e.expires_on, expires_at=e.expires_at, points=e.points)
                for e in holdings.expiring
            ],
            pending=PendingBlock(
                points=holdings.pending_points,
                awards=[
                    PendingAward(
                        award=p.award,
                        reference_id=p.reference_id,
                        points=p.points,
                        release_on=p.release_on,
                        release_at=p.release_at,
                        confirmed_by=p.confirmed_by,
                    )
                    for p in holdings.pending
                ],
            ),
        )


class TierChangeOut(BaseModel):
    from_tier: str = Field(description="Empty for an assignment recorded before changes were.")
    tier: str
    reason: str = Field(description="threshold_crossed, downgrade_policy or manual.")
    review_on: date | None = Field(
        description="The programme's local day the new tier is reviewed; null: never."
    )
    event_id: str = Field(description="The event whose decision changed the tier.")
    recorded_at: AwareDatetime

    @classmethod
    def of(cls, change: TierChangeRow) -> "TierChangeOut":
        return cls(
            from_tier=change.from_tier,
            tier=change.to_tier,
            reason=change.reason,
            review_on=change.review_on,
            event_id=change.command_id,
            recorded_at=change.recorded_at,
        )


class UserTierOut(BaseModel):
    """The user's tier, when it is reviewed next, and its changes, newest first."""

    user_id: str
    tier: str
    review_on: date | None = Field(
        description="The programme's local day the tier's period (or grace) ends and the tier "
        "policy reviews it; null: never (the default tier, or no downgrade)."
    )
    changes: list[TierChangeOut]

    @classmethod
    def of(
        cls,
        user_id: str,
        default_tier: str,
        current: TierAssignment | None,
        changes: list[TierChangeRow],
    ) -> "UserTierOut":
        return cls(
            user_id=user_id,
            tier=default_tier if current is None else current.tier,
            review_on=None if current is None else current.review_on,
            changes=[TierChangeOut.of(change) for change in changes],
        )


AWARD_STATUS_DESCRIPTION = (
    "Only on a pending award (points held back for a return window or a confirmation), null on "
    "every other transaction: `pending` while some of its points are held, `available` once "
    "they were released (the release is a transaction of its own, a `Points Release` credit, "
    "which moves them into the balance), `cancelled` when a return cancelled them all before "
    "any release. A pending award's `value` is its points, which are not in its `balance` (the "
    "balance it left unchanged)."
)
AVAILABLE_ON_DESCRIPTION = (
    "Only on a pending award: while pending, the programme's local day at whose midnight its "
    "points become available (null: only a confirming event releases them); once available, "
    "the local day they were released."
)


class PendingAwardOut(BaseModel):
    """A pending award's points, where they went, and what releases it."""

    model_config = ConfigDict(from_attributes=True)

    points: int = Field(description="What the award booked as pending.")
    pending_points: int = Field(description="Still held: not in the balance, not spendable.")
    released_points: int = Field(description="Made available (by `Points Release` entries).")
    cancelled_points: int = Field(description="Cancelled by returns before their release.")
    reference_id: str = Field(
        description="What a confirming event names in `metadata.original_reference_id`."
    )
    confirmed_by: str | None = Field(description="The event type that releases it at once.")

    @classmethod
    def of(cls, award: PendingAwardState) -> "PendingAwardOut":
        return cls(
            points=award.points,
            pending_points=award.pending_points,
            released_points=award.released_points,
            cancelled_points=award.cancelled_points,
            reference_id=award.reference_id,
            confirmed_by=award.confirmed_by,
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
    status: Literal["pending", "available", "cancelled"] | None = Field(
        default=None, description=AWARD_STATUS_DESCRIPTION
    )
    available_on: date | None = Field(default=None, description=AVAILABLE_ON_DESCRIPTION)
    available_at: AwareDatetime | None = Field(
        default=None, description="Only on a pending award: the instant of `available_on`."
    )
    pending: PendingAwardOut | None = Field(
        default=None, description="Only on a pending award: its points and where they went."
    )

    @classmethod
    def of(cls, transaction: Transaction) -> "TransactionOut":
        award = transaction.pending
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
            status=None if award is None else award.status,
            available_on=None if award is None else award.available_on,
            available_at=None if award is None else award.available_at,
            pending=None if award is None else PendingAwardOut.of(award),
        )


class TransactionsPage(BaseModel):
    transactions: list[TransactionOut]
    totalCount: int


PREVIEW_NOTE = (
    "A preview: nothing was stored and nothing counted. Publishing the event decides it for "
    "real, against the user's state at that moment."
)


class PreviewAnswer(BaseModel):
    """What the event would earn if it were published now, with the decision's explanation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "preview": True,
                    "stored": False,
                    "event_id": "evt_2553…",
                    "status": "no_points",
                    "points": 0,
                    "reason_code": "daily_cap",
                    "reason": "rule 'share': daily cap 10: cut from 4 to 0",
                    "explanation": {"rules": ["…"]},
                    "notes": [],
                    "message": PREVIEW_NOTE,
                }
            ]
        }
    )

    preview: bool = True
    stored: bool = Field(default=False, description="Always false: a preview stores nothing.")
    event_id: str = Field(
        description="The id the event would have: with a `reference_id`, the one publishing "
        "it gives (a reference already decided answers `duplicate` with its original points)."
    )
    status: str = Field(
        description="awarded, no_points, invalid_event, duplicate or needs_external_points."
    )
    points: int = Field(description="Net points the event would earn now (redemptions negative).")
    reason_code: str | None = Field(
        default=None,
        description="Why it would earn nothing or less than its rules' amount (a cap, a "
        "frequency limit, ...); null for a full award.",
    )
    reason: str | None = None
    explanation: JsonValue = Field(
        default=None, description="Every rule tried and why it would pay or not."
    )
    notes: list[str] = Field(
        default_factory=list,
        description="What the preview could not know as publishing will (a programmatic "
        "rule's amount, asked of its API now).",
    )
    message: str = PREVIEW_NOTE
