"""MyRewards' varieties: which transaction types each permits and which accounts it moves between.

| variety                  | types  | the user's counterpart                              |
| ------------------------ | ------ | --------------------------------------------------- |
| Programme Points         | either | programme budget (affects the programme's points)   |
| Points Error             | either | programme budget                                    |
| Programme Budget         | either | programme budget                                    |
| Adjustment               | either | programme budget                                    |
| Redemption               | debit  | redeemed (does not affect the programme's points)   |
| Order Cancelation        | credit | redeemed                                            |
| Order Adjustment         | either | redeemed                                            |
| Person 2 Person Transfer | either | the counterparty user (both legs in one posting)    |
| Account Closure          | debit  | budget or expired, as the programme is configured   |
| Points Expiry            | debit  | expired (booked only by the ledger's expiry runs)   |
| Points Release           | credit | pending (booked only by the ledger: a pending award |
|                          |        | made available, `ledger.core.releasing`)            |
| Return                   | debit  | programme budget (booked only for a return's command) |

A booking with `pending` terms (an award held back) is a credit from the budget that goes to
the programme's pending account instead of the user's (`ledger.core.pending`); any other
variety or type with `pending` is refused.

A Credit moves points to the user, a Debit away from the user. The ledger's own varieties
(`schemas.ledger.LEDGER_VARIETIES`) are refused in a command: only the ledger books them.
"""

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.rejections import Rejection
from schemas.ledger import LEDGER_VARIETIES, Booking, TransactionType, Variety


class Counterpart(Enum):
    BUDGET = "budget"
    REDEEMED = "redeemed"
    COUNTERPARTY = "counterparty"
    CLOSURE = "closure"
    EXPIRED = "expired"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class VarietyRule:
    types: frozenset[TransactionType]
    counterpart: Counterpart
    ledger_only: bool = False
    """One of `LEDGER_VARIETIES`: refused in a command."""


_EITHER = frozenset(TransactionType)
_CREDIT = frozenset({TransactionType.CREDIT})
_DEBIT = frozenset({TransactionType.DEBIT})

RULES: dict[Variety, VarietyRule] = {
    Variety.PROGRAMME_POINTS: VarietyRule(_EITHER, Counterpart.BUDGET),
    Variety.POINTS_ERROR: VarietyRule(_EITHER, Counterpart.BUDGET),
    Variety.PROGRAMME_BUDGET: VarietyRule(_EITHER, Counterpart.BUDGET),
    Variety.ADJUSTMENT: VarietyRule(_EITHER, Counterpart.BUDGET),
    Variety.REDEMPTION: VarietyRule(_DEBIT, Counterpart.REDEEMED),
    Variety.ORDER_CANCELATION: VarietyRule(_CREDIT, Counterpart.REDEEMED),
    Variety.ORDER_ADJUSTMENT: VarietyRule(_EITHER, Counterpart.REDEEMED),
    Variety.PERSON_TO_PERSON_TRANSFER: VarietyRule(_EITHER, Counterpart.COUNTERPARTY),
    Variety.ACCOUNT_CLOSURE: VarietyRule(_DEBIT, Counterpart.CLOSURE),
    Variety.POINTS_EXPIRY: VarietyRule(_DEBIT, Counterpart.EXPIRED, ledger_only=True),
    Variety.POINTS_RELEASE: VarietyRule(_CREDIT, Counterpart.PENDING, ledger_only=True),
    Variety.RETURN: VarietyRule(_DEBIT, Counterpart.BUDGET, ledger_only=True),
}
if {variety for variety, rule in RULES.items() if rule.ledger_only} != LEDGER_VARIETIES:
    raise ImportError("varieties.RULES and schemas.ledger.LEDGER_VARIETIES disagree")


class Route(NamedTuple):
    """The two accounts of the booking's entry (a tuple: one is built per booking)."""

    debit: AccountKey
    credit: AccountKey


def route(
    programme_id: str, user_id: str, booking: Booking, policy: ProgrammePolicy
) -> Route | Rejection:
    """The accounts a booking moves points between, or why the combination is invalid (406)."""
    routed = static_route(programme_id, user_id, booking)
    if routed is None:
        return _route(programme_id, user_id, booking, policy)
    return routed


def static_route(programme_id: str, user_id: str, booking: Booking) -> Route | Rejection | None:
    """The route where it does not depend on the programme's configuration; None where it does
    (an account closure). Computed once per booking when a command is decoded."""
    if RULES[booking.variety].counterpart is Counterpart.CLOSURE:
        return None
    return _route(programme_id, user_id, booking, None)


def _route(
    programme_id: str, user_id: str, booking: Booking, policy: ProgrammePolicy | None
) -> Route | Rejection:
    rule = RULES[booking.variety]
    if rule.ledger_only:
        return Rejection.invalid(f"Invalid Transaction: only the ledger books {booking.variety}")
    if booking.transaction_type not in rule.types:
        return Rejection.invalid(
            f"Invalid Transaction: {booking.variety} does not permit {booking.transaction_type}"
        )
    counterpart = _counterpart(programme_id, user_id, booking, rule.counterpart, policy)
    if isinstance(counterpart, Rejection):
        return counterpart
    user = AccountKey(programme_id, AccountKind.USER, user_id)
    if booking.pending is not None:
        if counterpart.kind is not AccountKind.BUDGET or (
            booking.transaction_type is not TransactionType.CREDIT
        ):
            return Rejection.invalid(
                "Invalid Transaction: only a credit from the programme's budget can be pending"
            )
        return Route(debit=counterpart, credit=AccountKey(programme_id, AccountKind.PENDING, ""))
    if booking.transaction_type is TransactionType.CREDIT:
        return Route(debit=counterpart, credit=user)
    return Route(debit=user, credit=counterpart)


_PROGRAMME_ACCOUNT: dict[Counterpart, AccountKind] = {
    Counterpart.BUDGET: AccountKind.BUDGET,
    Counterpart.REDEEMED: AccountKind.REDEEMED,
    Counterpart.EXPIRED: AccountKind.EXPIRED,
    Counterpart.PENDING: AccountKind.PENDING,
}


def _counterpart(
    programme_id: str,
    user_id: str,
    booking: Booking,
    counterpart: Counterpart,
    policy: ProgrammePolicy | None,
) -> AccountKey | Rejection:
    # Keys are built as plain tuples here (not through the classmethods): this runs for every
    # booking the writer decodes.
    other = booking.counterparty_user_id
    if counterpart is Counterpart.COUNTERPARTY:
        if other is None or other == user_id:
            return Rejection.invalid("Invalid Transaction: a transfer needs another user")
        return AccountKey(programme_id, AccountKind.USER, other)
    if other is not None:
        return Rejection.invalid("Invalid Transaction: only a transfer names a counterparty")
    kind = _PROGRAMME_ACCOUNT.get(counterpart)
    if kind is None:  # account closure
        returns = policy is not None and policy.account_closure_returns_to_budget
        kind = AccountKind.BUDGET if returns else AccountKind.EXPIRED
    return AccountKey(programme_id, kind, "")
