"""The awards a return may still give caps and budgets back for (`UserState.returnable`).

An awarded event of a type some return type takes back leaves a record (`ReturnableRecord`):
its local day and month, type and amount, and each earn award's rule, points and the points it
took from the rule's budget. A return of it gives back its share of those (`returns`), counts
its amount into the record and keeps its id, so a redelivery of it, however late, gives back
nothing more.

A record is kept only while it can give something back, and the records are bounded:
- an award of an event type without a capped rule that used no budget leaves no record;
- a record whose month has ended (a later month's returnable award came) is dropped, unless
  it used a budget: a cap counter holds only the current day and month, so an older period has
  nothing left to give back, while a budget spans all time;
- a fully returned original's record is dropped (nothing is left to give back);
- at most `RETURNABLE_MAX` records a user, the oldest dropped first; and at most `RETURNS_MAX`
  returns of one original give back: the last of them drops its record.
A return whose original has no record gives back nothing and its explanation says why
(`Explanation.given_back`); the ledger still takes back its points.
"""

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

from processors.engine.exceptions import StateDecodeError
from processors.engine.outcomes import Award
from processors.engine.state import RETURNABLE_AWARDS, ReturnableRecord

RETURNABLE_MAX: Final = 64
"""Records a user keeps: the newest returnable awards in a current cap period or on a budget."""
RETURNS_MAX: Final = 8
"""Returns of one original that give back; the ids of all but the last are kept (for their
redeliveries): the last drops the record."""

_MONTH: Final = 1
_RETURNED: Final = 4


class HeldAward(NamedTuple):
    rule_id: str
    points: int
    budget_points: int


class Held(NamedTuple):
    """A returnable record, read and checked."""

    day: int
    month: int
    event_type: str
    amount: Decimal
    returned: Decimal
    """What the returns of it so far returned, summed."""
    returns: tuple[str, ...]
    """The ids of those returns."""
    awards: tuple[HeldAward, ...]


def with_award(
    returnable: dict[str, ReturnableRecord],
    event_id: str,
    at: tuple[int, int, str, str],
    awards: tuple[Award, ...],
    budget_consumed: Mapping[str, int],
    capped: bool,
) -> dict[str, ReturnableRecord]:
    """`returnable` with the record of an awarded event (`at`: its local day and month, type
    and amount), the ended ones dropped; `returnable` itself when the event leaves none.
    `capped`: some rule caps the event type's points."""
    day, month, event_type, amount = at
    record: ReturnableRecord = [day, month, event_type, amount, "0", []]
    budgeted = False
    for award in awards:
        if award.kind == "earn":
            used = min(award.points, budget_consumed.get(award.rule_id, 0))
            record += (award.rule_id, award.points, used)
            budgeted = budgeted or used > 0
    if len(record) == RETURNABLE_AWARDS or not (capped or budgeted):
        return returnable
    kept = {
        key: other
        for key, other in returnable.items()
        if other[_MONTH] >= month or _used_budget(other)
    }
    kept[event_id] = record
    for oldest in list(kept)[: max(0, len(kept) - RETURNABLE_MAX)]:
        del kept[oldest]
    return kept


def held(record: ReturnableRecord) -> Held:
    """The record read, its content checked (decoding checks only its shape)."""
    try:
        day, month, event_type, amount, returned, returns = record[:RETURNABLE_AWARDS]
        awards = tuple(
            HeldAward(*record[index : index + 3])
            for index in range(RETURNABLE_AWARDS, len(record), 3)
        )
        checked = (
            type(day) is int
            and type(month) is int
            and type(event_type) is str
            and type(amount) is str
            and type(returned) is str
            and type(returns) is list
            and all(type(event_id) is str for event_id in returns)
            and all(
                type(a.rule_id) is str and type(a.points) is int and type(a.budget_points) is int
                for a in awards
            )
        )
        whole, so_far = Decimal(amount), Decimal(returned)
        if checked and whole.is_finite() and so_far.is_finite():
            return Held(day, month, event_type, whole, so_far, tuple(returns), awards)
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise StateDecodeError(f"malformed returnable record: {record!r}"[:200])


def after_return(
    returnable: dict[str, ReturnableRecord],
    original: str,
    record: Held,
    return_id: str,
    returned: Decimal,
) -> dict[str, ReturnableRecord]:
    """`returnable` once `return_id` has returned `returned` more of `original`: a fully
    returned original (nothing left to give back) and one at `RETURNS_MAX` returns are dropped."""
    kept = dict(returnable)
    total = record.returned + returned
    if total >= record.amount or len(record.returns) + 1 >= RETURNS_MAX:
        del kept[original]
        return kept
    raw = kept[original]
    kept[original] = [*raw[:_RETURNED], format(total, "f"), [*record.returns, return_id],
                      *raw[RETURNABLE_AWARDS:]]  # fmt: skip
    return kept


def _used_budget(record: ReturnableRecord) -> bool:
    return any(record[index] for index in range(RETURNABLE_AWARDS + 2, len(record), 3))
