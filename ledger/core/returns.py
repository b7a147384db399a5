"""Returns: what a return's command (`LedgerCommand.returning`) takes back of its original.

A return gives the amount (or quantity) returned; the original's amount comes from the archived
original event. Each award of the original gives back its share of what all the returns so far
add up to, rounded down, less what the returns before took: `floor(points * returned_total /
amount) - floor(points * returned_before / amount)`. Rounding the running total rather than
each return keeps the user's fractions with the user on a partial return, never takes back
more than the award, and a full return, in one go or in parts, takes back exactly the award.

Returns that would add up to more than the original's amount are refused as a whole (0
points, `over_return`); a return naming an event the ledger has not booked for the user takes
nothing (`unknown_original`). Both are accepted outcomes, not rejections: the partner learns
why from the reason code.

What the user has already spent is the programme's policy (`returns.spent_points`): under
`shortfall` the return takes what the balance holds and records the rest as its shortfall;
under `negative_balance` it takes its whole share and the balance may go below zero.

An award still (partly) pending gives its share from its pending lot first: that part is
cancelled (never released later) and never touches the balance, so neither policy applies to
it; only the rest is taken from the available balance as above.
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Literal, NamedTuple

from ledger.core.lots import Lots
from schemas.reasons import ReasonCode

SpentPoints = Literal["shortfall", "negative_balance"]


class OriginalAward(NamedTuple):
    """One award of the original, as booked."""

    key: str
    """Its entry's idempotency key: the Return entry reverses it."""
    rule_id: str | None
    points: int
    available: int
    """What is left of it to take back: its points less every reversal of it so far."""
    lots: Lots | None
    """The lots it formed (the dates its points expire on); a return takes from them first."""
    pending: int = 0
    """What of it is still pending (its pending lot): a return cancels from it first."""


class Original(NamedTuple):
    """What the ledger holds of a return's original event."""

    booked: bool
    """The ledger booked the original for this user (an outcome that is not a refusal)."""
    awards: tuple[OriginalAward, ...]
    amount: Decimal | None
    """The original's amount (its event's `metadata[field]`); None when it has none."""
    returned_before: Decimal
    """What the returns booked before this one returned, summed."""


class Take(NamedTuple):
    """What a return takes back of one award."""

    award: OriginalAward
    points: int
    """Taken from the user's available balance (a Return entry)."""
    pending: int = 0
    """Cancelled from the award's pending lot (a cancellation entry), before `points`."""


class ReturnPlan(NamedTuple):
    takes: tuple[Take, ...]
    """What to book of each award with points to take (pending or available)."""
    shortfall: int
    """Points of the share the user no longer held (`shortfall` policy)."""
    reason_code: ReasonCode | None
    reason: str
    counts: bool
    """The returned amount is added to the original's returns (False when refused)."""


def share_of_award(points: int, amount: Decimal, before: Decimal, after: Decimal) -> int:
    """The points a return takes back of an award of `points` when the original's returns go
    from `before` to `after` of its `amount` (exact rationals; rounded down)."""
    whole = Fraction(amount)
    return floor(points * Fraction(after) / whole) - floor(points * Fraction(before) / whole)


def plan_return(
    original: Original, returned: Decimal, balance: int, spent_points: SpentPoints
) -> ReturnPlan:
    """What a return of `returned` books, the user's balance being `balance` before it."""
    if not original.booked:
        return _nothing(ReasonCode.UNKNOWN_ORIGINAL, "no booked event of the user to return")
    amount, before = original.amount, original.returned_before
    if not original.awards:
        return ReturnPlan((), 0, None, "the original earned no points: nothing to take back", True)
    if amount is None or amount <= 0:
        return _nothing(ReasonCode.UNKNOWN_ORIGINAL, "the original has no amount to return from")
    after = before + returned
    if after > amount:
        return _nothing(
            ReasonCode.OVER_RETURN,
            f"returns would add up to {after} of the original's {amount}",
        )
    shares = [
        _split(award, min(award.available, share_of_award(award.points, amount, before, after)))
        for award in original.awards
    ]
    cancelled = sum(take.pending for take in shares)
    owed = sum(take.points for take in shares)
    held = max(balance, 0)
    of_pending = f" ({cancelled} of them pending)" if cancelled else ""
    if spent_points == "negative_balance" or owed <= held:
        takes = tuple(take for take in shares if take.points > 0 or take.pending > 0)
        total = owed + cancelled
        reason = f"returned {returned} of {amount}: {total} points{of_pending}"
        return ReturnPlan(takes, 0, None, reason, True)
    takes = _cut(shares, held)
    shortfall = owed - held
    reason = (
        f"returned {returned} of {amount}: {held} of {owed} available points taken, "
        f"{shortfall} spent"
    )
    if cancelled:
        reason += f"; {cancelled} pending points cancelled"
    return ReturnPlan(takes, shortfall, ReasonCode.RETURN_SHORTFALL, reason, True)


def _split(award: OriginalAward, share: int) -> Take:
    """The award's share, from its pending lot first, the rest from the available balance."""
    pending = min(share, max(award.pending, 0))
    return Take(award, share - pending, pending)


def _cut(shares: Sequence[Take], held: int) -> tuple[Take, ...]:
    """The shares' available parts cut to `held` points in all, in the awards' order (their
    pending parts are cancelled whole: the user never held them)."""
    takes = []
    for take in shares:
        points = min(take.points, held)
        if points > 0 or take.pending > 0:
            takes.append(Take(take.award, points, take.pending))
            held -= points
    return tuple(takes)


def _nothing(code: ReasonCode, reason: str) -> ReturnPlan:
    return ReturnPlan((), 0, code, reason, False)
