"""Kwegg's request and response bodies. Every answer is `{"success", "message", "data"}`; an
error adds the house's stable `error` code to Kwegg's envelope, with `"success": false`."""

import datetime as dt
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from schemas.events import Identifier
from schemas.ledger import RejectionReason
from schemas.reasons import ReasonCode

Data = TypeVar("Data")
MAX_PARAMS = 64
Reference = Annotated[str, Field(min_length=1, max_length=128)]


class KweggAnswer(BaseModel, Generic[Data]):
    success: Literal[True] = True
    message: str
    data: Data


class KweggError(BaseModel):
    success: Literal[False] = False
    message: str = Field(examples=["unknown or expired access token; log the user in again"])
    error: str = Field(examples=["unauthorized"], description="The API's stable error code.")
    data: None = None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"userId": "12"}]})

    userId: Identifier = Field(description="The tenant's own identifier of the user.")


class KweggUser(BaseModel):
    userId: str
    balance: int
    tier: str | None = Field(
        default=None,
        description="The user's tier (the programme's default tier until one is reached or set); "
        "absent while the gateway has not read the programme's configuration yet.",
    )


class LoginData(BaseModel):
    accessToken: str
    expiresAt: AwareDatetime
    user: KweggUser


class ExpiringPoints(BaseModel):
    date: dt.date = Field(description="The programme's local day at whose midnight they expire.")
    expiresAt: AwareDatetime = Field(description="That midnight, as an instant.")
    points: int


class KweggTier(BaseModel):
    name: str = Field(description="The user's tier.")
    reviewOn: dt.date | None = Field(
        default=None,
        description="The programme's local day the tier is reviewed: the tier policy may lower "
        "it then if the points earned no longer reach it. Absent: never.",
    )
    pointsEarned: int | None = Field(
        default=None,
        description="Points earned in the tier policy's window (the last months it counts, or "
        "all time). Absent when the programme's tiers are only set by hand.",
    )
    nextTier: str | None = Field(
        default=None, description="The next tier up; absent at the top or without a tier policy."
    )
    pointsToNextTier: int | None = Field(
        default=None, description="What is still to earn in the window to reach `nextTier`."
    )


class BalanceData(BaseModel):
    balance: int
    pending: int = Field(
        default=0,
        description="Coins awarded as pending (a return window or a confirmation to come): not "
        "in `balance` and not spendable until they become available.",
    )
    expiring: list[ExpiringPoints] = Field(
        default_factory=list,
        description="The user's points that expire, by the day they expire on, earliest first "
        "(at most 12 days); points that never expire are not listed.",
    )
    tier: KweggTier | None = Field(
        default=None,
        description="The user's tier and their progress to the next one; absent while the "
        "gateway has not read the programme's configuration yet.",
    )


class OccurredEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier = Field(description="The event type, as declared in the programme.")
    id: Reference | None = Field(
        default=None,
        description="The tenant's id of this occurrence: the same id for the same user is "
        "recognised as a retry and answered with the original outcome.",
    )
    params: dict[str, JsonValue] = Field(default_factory=dict, max_length=MAX_PARAMS)


class OccurrenceRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"userId": "12", "event": {"name": "product_viewed", "params": {"id": "1234"}}}
            ]
        },
    )

    userId: Identifier = Field(description="Must be the access token's user.")
    event: OccurredEvent


class OccurrenceData(BaseModel):
    """`processed` with the points booked, `rejected` (0 points, `reason`), or `pending` when
    the outcome was not known within the wait (`GET /api/partner/events/{eventId}` with the
    License-Key as `X-API-Key` answers it later)."""

    eventId: str
    status: Literal["processed", "rejected", "pending"]
    points: int | None = None
    reasonCode: ReasonCode | RejectionReason | None = Field(
        default=None,
        description="Why the occurrence earned nothing or less than its rules' amount, or why "
        "the ledger refused it (the partner API's `reason_code`); null for a full award.",
    )
    reason: str | None = Field(default=None, description="The same in words.")


class KweggTransaction(BaseModel):
    id: str
    entry: Literal["CREDIT", "DEBIT"]
    createdAt: AwareDatetime
    type: str = Field(examples=["EVENT_OCCURENCE", "REDEMPTION", "POINTS_RELEASE"])
    points: int = Field(description="Always positive; `entry` says in which direction.")
    balance: int = Field(description="The user's balance after this transaction.")
    description: str
    status: Literal["PENDING", "AVAILABLE", "CANCELLED"] | None = Field(
        default=None,
        description="Only on coins awarded as pending (a return window or a confirmation to "
        "come), absent on every other transaction: `PENDING` while some are held, `AVAILABLE` "
        "once released (the release is a transaction of its own, type `POINTS_RELEASE`, which "
        "moves them into the balance), `CANCELLED` when a return cancelled them all first. A "
        "pending award's coins are not in its `balance` (the balance it left unchanged).",
    )
    availableOn: dt.date | None = Field(
        default=None,
        description="Only on coins awarded as pending: while pending, the programme's local "
        "day they become available (absent: only a confirmation releases them); once "
        "available, the day they were released.",
    )


class TransactionsData(BaseModel):
    transactions: list[KweggTransaction]
    totalCount: int


class OfferOut(BaseModel):
    id: str
    createdAt: AwareDatetime
    name: str
    description: str
    points: int = Field(description="What redeeming the offer costs.")
    status: Literal["ACTIVE", "INACTIVE", "EXPIRED"]
    validUntil: AwareDatetime | None = None


class OffersData(BaseModel):
    offers: list[OfferOut]
    totalCount: int


class RedeemRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"userId": "12", "referenceId": "order-42"}]},
    )

    userId: Identifier | None = Field(default=None, description="If given, the token's user.")
    referenceId: Reference | None = Field(
        default=None,
        description="The tenant's id of this redemption: a retry with the same id is answered "
        "with the original outcome and debits nothing more.",
    )


class RedemptionData(BaseModel):
    redemptionId: str
    offerId: str
    status: Literal["processed", "pending"]
    points: int = Field(description="Points debited (the offer's price).")
    balance: int | None = Field(default=None, description="The balance after it, when known.")
