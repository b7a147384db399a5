"""Accounts, and the floor each one may not go below."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from ledger.core.expiry import ExpiryPolicy
from schemas.ledger import Booking, RejectionReason


class AccountKind(StrEnum):
    USER = "user"
    BUDGET = "budget"
    FUNDING = "funding"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    PENDING = "pending"


class AccountKey(NamedTuple):
    """Natural key of an account; `owner_id` is the user id for user accounts, "" otherwise.

    A NamedTuple rather than a frozen dataclass: the planner builds several per booking, and
    tuple construction and hashing are several times cheaper."""

    programme_id: str
    kind: AccountKind
    owner_id: str = ""

    @classmethod
    def user(cls, programme_id: str, user_id: str) -> "AccountKey":
        return cls(programme_id, AccountKind.USER, user_id)

    @classmethod
    def programme(cls, programme_id: str, kind: AccountKind) -> "AccountKey":
        return cls(programme_id, kind, "")


def booking_user(command_user_id: str, booking: Booking) -> str:
    """The user a booking is for: its own `user_id` when it names one (a command that books for
    several users), else its command's."""
    own = booking.user_id
    return command_user_id if own is None else own


@dataclass(frozen=True, slots=True)
class ProgrammePolicy:
    """What the ledger needs to know about a programme (from the `programmes` table).

    `rule_budgets`: `budget_max` by rule id, for the rules of the programme's snapshot that have
    one (see `ledger.core.budgets`); empty for most programmes. `expiry`: when its credits'
    points expire (`ledger.core.expiry`); None when they never do."""

    funded: bool
    account_closure_returns_to_budget: bool = False
    rule_budgets: Mapping[str, int] = field(default_factory=dict)
    expiry: ExpiryPolicy | None = None
    spent_points: str = "shortfall"
    """`returns.spent_points`: what a return does when the user has spent the points
    (`ledger.core.returns`)."""


def may_go_negative(key: AccountKey, policy: ProgrammePolicy) -> bool:
    """An unfunded budget's negative balance is its outstanding liability; funding is the world."""
    if key.kind is AccountKind.FUNDING:
        return True
    return key.kind is AccountKind.BUDGET and not policy.funded


_FLOOR_REASON: dict[AccountKind, RejectionReason] = {
    AccountKind.USER: RejectionReason.INSUFFICIENT_POINTS,
    AccountKind.BUDGET: RejectionReason.PROGRAMME_BUDGET_EXHAUSTED,
    AccountKind.REDEEMED: RejectionReason.REDEEMED_POINTS_EXCEEDED,
    AccountKind.EXPIRED: RejectionReason.INVALID_TRANSACTION,
    AccountKind.PENDING: RejectionReason.INVALID_TRANSACTION,
    AccountKind.FUNDING: RejectionReason.INVALID_TRANSACTION,
}

_FLOOR_MESSAGE: dict[AccountKind, str] = {
    AccountKind.USER: "User does not have enough points",
    AccountKind.BUDGET: "Programme does not have enough points",
    AccountKind.REDEEMED: "More points given back than were redeemed",
}


def floor_rejection(kind: AccountKind) -> tuple[RejectionReason, str]:
    """Reason and message when a debit would take an account of `kind` below its floor."""
    return _FLOOR_REASON[kind], _FLOOR_MESSAGE.get(kind, "Invalid Transaction")
