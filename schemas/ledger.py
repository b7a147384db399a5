"""`ledger-commands.v1`: what the ledger writer must book, and the outcome it records for each.

One command is applied all-or-nothing in one database transaction. A command carries zero or
more bookings: an event that earns nothing still sends a command with no booking, so its outcome
(0 points, with the explanation) is stored and answerable like any other.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.events import EventV1, Fingerprint, Identifier

Points = Annotated[int, Field(gt=0, le=10**12)]


class TransactionType(StrEnum):
    CREDIT = "Credit"
    DEBIT = "Debit"


class Variety(StrEnum):
    """MyRewards' varieties, and the ledger's own (`LEDGER_VARIETIES`); which type each permits
    is enforced by the ledger writer."""

    PROGRAMME_POINTS = "Programme Points"
    POINTS_ERROR = "Points Error"
    PROGRAMME_BUDGET = "Programme Budget"
    REDEMPTION = "Redemption"
    PERSON_TO_PERSON_TRANSFER = "Person 2 Person Transfer"
    ORDER_CANCELATION = "Order Cancelation"
    ORDER_ADJUSTMENT = "Order Adjustment"
    ADJUSTMENT = "Adjustment"
    ACCOUNT_CLOSURE = "Account Closure"
    POINTS_EXPIRY = "Points Expiry"
    POINTS_RELEASE = "Points Release"
    RETURN = "Return"


LEDGER_VARIETIES: frozenset[Variety] = frozenset(
    {Variety.POINTS_EXPIRY, Variety.POINTS_RELEASE, Variety.RETURN}
)
"""Booked only by the ledger itself (a lifecycle command's entries, a pending award's
release, a return's take-back); a command's booking of one is refused (406)."""


class PendingTerms(BaseModel):
    """How a pending award's points become available (`Booking.pending`): at the start of
    `release_on` (the programme's local day), when an event of type `confirmed_by` names
    `reference_id`, whichever comes first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    release_on: date | None = Field(
        default=None,
        description="The local day at whose midnight the points become available (the "
        "scheduler's `release_points` command of that day releases them). None: only a "
        "confirmation (or a return's cancellation) ends the hold.",
    )
    confirmed_by: Identifier | None = Field(
        default=None,
        description="The event type whose event, naming `reference_id`, releases the points "
        "at once. None: only the day releases them.",
    )
    reference_id: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        description="What a confirming event (`metadata.original_reference_id`) or a return "
        "names the award by: the earning event's `reference_id`, else its `event_id`."
    )

    @model_validator(mode="after")
    def _ends(self) -> "PendingTerms":
        if self.release_on is None and self.confirmed_by is None:
            raise ValueError("a pending award needs release_on, confirmed_by or both")
        return self


class PendingConfirmation(BaseModel):
    """A confirming event's request (`LedgerCommand.confirms`): release the command's user's
    pending awards whose terms name `event_type` and `reference_id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: Identifier
    reference_id: Annotated[str, Field(min_length=1, max_length=256)]
    confirmed_at: AwareDatetime = Field(
        description="The confirming event's time: the released points' earning time, from "
        "which the programme's expiry policy dates them."
    )


class Lineage(BaseModel):
    """Where a booking comes from: kept on the journal entry for audit and replay."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_event_id: Identifier | None = None
    rule_id: Identifier | None = None
    rule_version: int | None = Field(default=None, ge=1)
    occurred_at: AwareDatetime | None = None


class Booking(BaseModel):
    """One journal entry: `points` move between the user's account and the programme's budget
    (or `counterparty_user_id`'s account for a person-to-person transfer). The user is the
    command's `user_id` unless the booking names its own `user_id`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idempotency_key: Annotated[str, Field(min_length=1, max_length=256)]
    transaction_type: TransactionType
    variety: Variety
    points: Points
    reason: Annotated[str, Field(min_length=1, max_length=250)]
    remote_transaction_id: Annotated[str, Field(max_length=256)] | None = None
    counterparty_user_id: Identifier | None = None
    reverses: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="Idempotency key of the booking this one corrects."
    )
    lineage: Lineage = Lineage()
    user_id: Identifier | None = Field(
        default=None,
        description=(
            "The user whose account this booking credits or debits, when it is not the "
            "command's `user_id`: one command may then book for several users of its programme, "
            "all or nothing (a MyRewards sales-data request whose claims name several users). "
            "None: the command's user."
        ),
    )
    expires_on: date | None = Field(
        default=None,
        description=(
            "The day these points expire, for a credit to a user (an imported balance's "
            "expiry, `loyalty-admin import-balances`): kept on the journal entry, for the points "
            "lifecycle to make it the expiry of the lot the credit forms (at the start of that "
            "day in the programme's time zone). None: the programme's expiry policy decides. "
            "Refused on a debit. Part of the booking's payload: the same key with another "
            "expiry is a conflict."
        ),
    )

    pending: PendingTerms | None = Field(
        default=None,
        description=(
            "Book the credit as pending: the points go to the programme's pending account, "
            "held for the user (visible, never spendable) until the terms release them to the "
            "user's account (entries of variety Points Release, keyed `release:{key}`) or a "
            "return cancels them. Only for a credit from the programme's budget (an award). "
            "None: available at once. Part of the booking's payload when given."
        ),
    )

    allow_negative: bool = Field(
        default=False,
        description=(
            "A Debit of variety Adjustment (a re-base's correction, `loyalty-admin rebase "
            "--allow-negative`) that may take the user's balance below zero, the way a return "
            "does under `returns.spent_points: negative_balance`; later credits repay the "
            "debt first. False: the debit is refused (402) when the user cannot cover it. Part "
            "of the booking's payload when true."
        ),
    )

    @model_validator(mode="after")
    def _negative_only_by_adjustment(self) -> "Booking":
        if self.allow_negative and (
            self.transaction_type is not TransactionType.DEBIT
            or self.variety not in (Variety.ADJUSTMENT, Variety.RETURN)
        ):
            raise ValueError("allow_negative: only a Debit of variety Adjustment may set it")
        return self

    @field_validator("expires_on")
    @classmethod
    def _credits_only(cls, value: date | None, info: ValidationInfo) -> date | None:
        # Runs only when a booking gives an expiry, so a plain booking costs the writer nothing.
        if value is not None and info.data.get("transaction_type") is TransactionType.DEBIT:
            raise ValueError("only a credit's points expire: a debit has no expiry")
        return value

    @field_validator("pending")
    @classmethod
    def _pending_credits_only(
        cls, value: PendingTerms | None, info: ValidationInfo
    ) -> PendingTerms | None:
        if value is not None and info.data.get("transaction_type") is TransactionType.DEBIT:
            raise ValueError("only a credit can be pending")
        return value


class ReturnRequest(BaseModel):
    """A return's command (`LedgerCommand.returning`): the ledger works out what it books, from
    what it holds of the original (its awards, its amount, the returns before this one) and
    the programme's `returns.spent_points` (docs/returns.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    original_event_id: Identifier = Field(description="The event whose awards are returned.")
    award_keys: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]], Field(max_length=200)
    ] = Field(
        description="The idempotency keys the original's awards may have been booked under "
        "(`event_id:rule_id` for each rule of the original types); those the ledger holds are "
        "its awards."
    )
    field: Identifier = Field(description="The metadata key of the amount in both events.")
    amount: Annotated[Decimal, Field(gt=0, max_digits=30, decimal_places=12)] = Field(
        description="The amount (or quantity) returned, as the return event gave it."
    )


BOOKINGS_MAX = 1_000
"""A MyRewards sales-data request books up to 1,000 claims in one command."""


class LedgerCommand(BaseModel):
    """Keyed `programme_id:user_id`. `command_id` is the command's idempotency key: an event's
    decision uses the event id; each award inside it uses `event_id:rule_id`.

    A booking that names its own `user_id` books for that user; the outcome's `points` and
    `balance_after` are always the command's user's.

    A field at its default (null, false, an empty list, `schema_version` 1), in the command or
    in a booking, may be left out and means the same: the processors leave all of them out
    (docs/decisions/0024-ledger-commands-without-defaults.md), and both forms of one command
    have the same payload hash."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    command_id: Annotated[str, Field(min_length=1, max_length=256)]
    programme_id: Identifier
    user_id: Identifier
    source_event_id: Identifier | None = None
    bookings: Annotated[list[Booking], Field(max_length=BOOKINGS_MAX)] = Field(default_factory=list)
    explanation: JsonValue = None
    source_fingerprint: Fingerprint | None = Field(
        default=None,
        description=(
            "The source event's `payload_fingerprint`, stored with the outcome. Like the "
            "explanation it books nothing and is not compared: a duplicate of the event may "
            "carry another, and the first one stays."
        ),
    )
    source_event: EventV1 | None = Field(
        default=None,
        description=(
            "The event this command decides, as the processors received it. The ledger keeps "
            "it in its archive of decided events (`ledger.decided_events`) with the decision "
            "and the ledger's outcome, in the same transaction as the outcome, so a programme's "
            "history can be replayed (backtest). Books nothing and is not compared; None for "
            "commands no rule decided (MyRewards transactions, Kwegg redemptions)."
        ),
    )
    external_points: dict[str, Annotated[int, Field(ge=0)]] | None = Field(
        default=None,
        description=(
            "The amounts programmatic rules' APIs answered for the source event, by rule id, "
            "archived with it so that a replay uses them instead of asking again."
        ),
    )
    confirms: PendingConfirmation | None = Field(
        default=None,
        description=(
            "The command's event confirms earlier pending awards of the same user: the ledger "
            "releases those whose terms name this event type and reference, in the command's "
            "transaction (each award once, whether the day or a confirmation comes first). "
            "Books nothing of its own; a confirmation that finds nothing pending releases "
            "nothing."
        ),
    )

    returning: ReturnRequest | None = Field(
        default=None,
        description=(
            "Set on a return's command, which carries no bookings of its own: the ledger books "
            "the returned share of the original's awards (variety Return, each reversing its "
            "award) in the command's transaction. None: an ordinary command."
        ),
    )

    @model_validator(mode="after")
    def _source_event_is_this_commands(self) -> "LedgerCommand":
        if self.returning is not None and self.bookings:
            raise ValueError("returning: a return's command carries no bookings of its own")
        event = self.source_event
        if event is None:
            return self
        if (event.programme_id, event.user_id) != (self.programme_id, self.user_id):
            raise ValueError("source_event: another user's or programme's event")
        if event.event_id != self.source_event_id:
            raise ValueError("source_event: its event_id must be the command's source_event_id")
        return self


class LifecycleAction(StrEnum):
    """What a lifecycle command asks the ledger to do for a whole programme."""

    EXPIRE_POINTS = "expire_points"
    RELEASE_POINTS = "release_points"


class LifecycleCommand(BaseModel):
    """Time-driven work for a whole programme, on `ledger-commands.v1` beside the users'
    commands (keyed `programme_id:`, `topics.programme_key`): the scheduler emits one per
    programme, local day and action, with the day and the instant it begins, so the ledger never
    reads a clock. `command_id` is its idempotency key (`expire:{programme}:{day}`): a repeat
    changes nothing. The ledger plans the bookings itself, from what it holds:
    `expire_points` expires every open lot dated `local_day` or earlier (each lot once) and
    sends `points.expiring` for the lots `PointsExpiry.notice_days` ahead; `release_points`
    (`release:{programme}:{day}`) makes available every pending award whose `release_on` is
    `local_day` or earlier (each award once), with `points.available`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    command_id: Annotated[str, Field(min_length=1, max_length=200)]
    programme_id: Identifier
    action: LifecycleAction
    local_day: date = Field(description="The programme's local day the command is for.")
    effective_at: AwareDatetime = Field(
        description="The instant `local_day` begins in the programme's time zone (its midnight)."
    )


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local day (a lifecycle command's `effective_at`, a lot's expiry);
    where midnight does not exist (a DST gap at 00:00), fold=0 puts it at the transition, which
    is when that day begins."""
    # Through UTC: a time in the gap becomes the real instant, written with the offset in force
    # then (01:00-03:00 rather than 00:00-04:00), which compares equal to itself in any zone.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).astimezone(zone)


class OutcomeStatus(StrEnum):
    BOOKED = "booked"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class RejectionReason(StrEnum):
    """Why the ledger refused a command; `http_status` is what a partner API answers with."""

    INSUFFICIENT_POINTS = "insufficient_points"
    PROGRAMME_BUDGET_EXHAUSTED = "programme_budget_exhausted"
    RULE_BUDGET_EXHAUSTED = "rule_budget_exhausted"
    INVALID_TRANSACTION = "invalid_transaction"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    REVERSAL_EXCEEDS_ORIGINAL = "reversal_exceeds_original"
    REVERSAL_TARGET_NOT_FOUND = "reversal_target_not_found"
    REDEEMED_POINTS_EXCEEDED = "redeemed_points_exceeded"
    UNKNOWN_PROGRAMME = "unknown_programme"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


# MyRewards' codes where it has one (402, 412, 406); the rest follow HTTP's usual meaning.
_HTTP_STATUS: dict[RejectionReason, int] = {
    RejectionReason.INSUFFICIENT_POINTS: 402,
    RejectionReason.PROGRAMME_BUDGET_EXHAUSTED: 412,
    RejectionReason.RULE_BUDGET_EXHAUSTED: 412,
    RejectionReason.INVALID_TRANSACTION: 406,
    RejectionReason.IDEMPOTENCY_CONFLICT: 409,
    RejectionReason.REVERSAL_EXCEEDS_ORIGINAL: 406,
    RejectionReason.REVERSAL_TARGET_NOT_FOUND: 406,
    RejectionReason.REDEEMED_POINTS_EXCEEDED: 406,
    RejectionReason.UNKNOWN_PROGRAMME: 404,
}


class CommandOutcome(BaseModel):
    """What the ledger did with a command; stored in Postgres and read by the gateway.

    A `duplicate` is a command whose id (or whose every booking's key) was seen before with the
    same payload: it carries the original's result and `original_status`."""

    model_config = ConfigDict(frozen=True)

    command_id: str
    status: OutcomeStatus
    points: int = Field(
        description=(
            "Net points credited to the command's user (negative for a debit); bookings that "
            "name another user are not counted."
        )
    )
    reason: str | None = None
    balance_after: int | None = None
    reason_code: RejectionReason | None = None
    original_status: OutcomeStatus | None = None
    explanation: JsonValue = None
    recorded_at: AwareDatetime | None = None
    source_fingerprint: str | None = Field(
        default=None, description="The source event's payload fingerprint, when it had one."
    )


class DeadLetterReason(StrEnum):
    """Why the ledger writer sent a record to `dead-letters.v1` (`DeadLetter.reason`)."""

    UNDECODABLE = "undecodable"
    SCHEMA_VIOLATION = "schema_violation"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
