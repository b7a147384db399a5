"""A return event (an event type with `returns`): it earns nothing and asks the ledger to take
back the returned share of its original's awards. The ledger works the points out, since only
it holds every original, its amount and the returns before this one (ledger.core.returns).

It also gives back what the original's awards used of the user's caps and of the rules'
budgets, by the same share, from the original's returnable record (`returnable`: kept while its
cap period is current or it used a budget, bounded), and says what it gave back in the
explanation's `given_back`. A state written before format 4 keeps an original among the last
`APPLIED_MAX` applied events' records instead, which is read as before. A cap counter holds only
the current day and month, so an older original has nothing left to give back there.
Over-returns give back nothing.

The command books the same every time, redelivered or not, so the ledger answers a
redelivery as a repeat; the give-back is applied once: a redelivery is known by the applied
window or by the return ids the original's record keeps (its explanation says so)."""

from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, Final, NamedTuple

from processors.engine.amounts import returned_amount
from processors.engine.compile import CompiledProgramme, CompiledReturn
from processors.engine.conclude import with_applied, without_rules
from processors.engine.decision import Decision
from processors.engine.explain import Explanation
from processors.engine.outcomes import ReturnAsk
from processors.engine.periods import instant
from processors.engine.returnable import RETURNABLE_MAX, Held, after_return, held
from processors.engine.state import (
    CAP_DAY,
    CAP_DAY_POINTS,
    CAP_MONTH,
    CAP_MONTH_POINTS,
    AppliedRecord,
    CapCounter,
    RawRecord,
    ReturnableRecord,
    UserState,
    applied_outcome,
    reason_record,
    return_record,
    returnable_of,
    returned_of,
)
from schemas.events import EventV1, event_id_for
from schemas.programme import RETURN_REFERENCE_PARAMETER
from schemas.reasons import ReasonCode

REDELIVERED: Final = "a redelivery of this return: it gave back the first time"
OVER_RETURN: Final = "an over-return gives nothing back"
NOT_HELD: Final = (
    f"nothing to give back: the original is not among the user's last {RETURNABLE_MAX} "
    "returnable awards in a current cap period or on a rule budget"
)


class GivenBack(NamedTuple):
    """A return's give-back: the new caps and returnable records, the (negative) budget use,
    the return's applied record and the explanation's `given_back`."""

    caps: dict[str, CapCounter]
    returnable: dict[str, ReturnableRecord]
    consumed: dict[str, int]
    record: RawRecord
    explained: dict[str, Any]


def decide_return(
    event: EventV1, state: UserState, programme: CompiledProgramme, spec: CompiledReturn
) -> Decision:
    reference = event.metadata.get(RETURN_REFERENCE_PARAMETER)
    amount = returned_amount(event.metadata.get(spec.field))
    if not isinstance(reference, str) or not reference:
        reason = f"a return names its original by a non-empty '{RETURN_REFERENCE_PARAMETER}'"
        code = ReasonCode.INVALID_PARAMETERS
        return without_rules(event, state, programme, "invalid_event", reason, code)
    if amount is None:
        reason = f"the returned '{spec.field}' must be a number greater than 0"
        return without_rules(
            event, state, programme, "invalid_event", reason, ReasonCode.INVALID_AMOUNT
        )
    original = original_event_id(event, reference)
    ask = ReturnAsk(
        original, tuple(f"{original}:{rule}" for rule in spec.award_rule_ids), spec.field, amount
    )
    reason = f"return of {spec.field} {amount} of event '{original}': the ledger takes its share"
    explanation = Explanation(
        programme.version, event.event_type, state.tier, "no_points", reason, (), reason_code=None
    )
    if event.event_id in state.applied:  # a redelivery: given back the first time
        explanation.given_back = explained(original, None, 0, 0, {}, REDELIVERED)
        decision = Decision(event.event_id, "no_points", 0, (), state, explanation)
    else:
        back = give_back(state, programme, (original, event.event_id, amount), reason)
        explanation.given_back = back.explained
        given = UserState(
            state.tier, back.caps, state.marks, state.streaks, state.applied, state.tiering,
            back.returnable,
        )  # fmt: skip
        new_state = with_applied(given, event.event_id, back.record)
        decision = Decision(
            event.event_id, "no_points", 0, (), new_state, explanation, (), back.consumed
        )
    decision.returning = ask
    return decision


def give_back(
    state: UserState, programme: CompiledProgramme, asked: tuple[str, str, str], reason: str
) -> GivenBack:
    """What a return gives back (`asked`: the original's event id, the return's and the amount
    it returns, as exact decimal text); `reason`: the return's, for a record without any."""
    original, _, amount = asked
    record = state.returnable.get(original)
    if record is not None:
        return _from_record(state, held(record), asked, reason)
    applied = state.applied.get(original)
    kept = None if applied is None else returnable_of(applied)
    if applied is not None and kept is not None:
        return _from_applied(state, programme, (original, applied, kept), amount, reason)
    # Recorded as a return all the same, as before format 4: nothing reads it for this original.
    nothing = explained(original, None, 0, 0, {}, NOT_HELD)
    return _unchanged(state, return_record(original, amount), nothing)


def _from_record(
    state: UserState, record: Held, asked: tuple[str, str, str], reason: str
) -> GivenBack:
    original, return_id, returned_text = asked
    returned = Decimal(returned_text)
    if return_id in record.returns:  # a redelivery older than the applied window
        nothing = explained(original, None, 0, 0, {}, REDELIVERED)
        return _unchanged(state, reason_record("no_points", reason), nothing)
    amount, before = record.amount, record.returned
    after = before + returned
    if after > amount:
        nothing = explained(original, None, 0, 0, {}, OVER_RETURN)
        return _unchanged(state, reason_record("no_points", reason), nothing)
    total, consumed = 0, {}
    for award in record.awards:
        total += _share(award.points, amount, before, after)
        budget_share = _share(award.budget_points, amount, before, after)
        if budget_share:
            consumed[award.rule_id] = -budget_share
    caps, day_back, month_back = _caps_back(
        state.caps, record.event_type, record.day, record.month, total
    )
    returnable = after_return(state.returnable, original, record, return_id, returned)
    given = explained(original, record.event_type, day_back, month_back, consumed)
    return GivenBack(caps, returnable, consumed, return_record(original, returned_text), given)


def _from_applied(
    state: UserState,
    programme: CompiledProgramme,
    of: tuple[str, AppliedRecord, tuple[str, str]],
    returned_text: str,
    reason: str,
) -> GivenBack:
    """A state written before format 4: the original's applied record keeps its type and
    amount (`of`: its event id, record and those), and the returns of it since are among the
    applied records after it."""
    original, applied, (event_type, amount_text) = of
    returned = Decimal(returned_text)
    amount, before = Decimal(amount_text), Decimal(0)
    for other in state.applied.values():
        earlier = returned_of(other)
        if earlier is not None and earlier[0] == original:
            before += Decimal(earlier[1])
    after = before + returned
    if amount <= 0 or after > amount:
        nothing = explained(original, None, 0, 0, {}, OVER_RETURN)
        return _unchanged(state, reason_record("no_points", reason), nothing)
    outcome = applied_outcome(applied)
    shares = {
        award.rule_id: _share(award.points, amount, before, after)
        for award in outcome.awards
        if award.kind == "earn"
    }
    budgeted = programme.budgeted_rules
    consumed = {rule: -points for rule, points in shares.items() if points and rule in budgeted}
    caps, day_back, month_back = state.caps, 0, 0
    if outcome.occurred_at_us is not None:
        _, day, month = programme.calendar.periods(instant(outcome.occurred_at_us))
        total = sum(shares.values())
        caps, day_back, month_back = _caps_back(state.caps, event_type, day, month, total)
    given = explained(original, event_type, day_back, month_back, consumed)
    record = return_record(original, returned_text)
    return GivenBack(caps, state.returnable, consumed, record, given)


def _caps_back(
    caps: dict[str, CapCounter], event_type: str, day: int, month: int, points: int
) -> tuple[dict[str, CapCounter], int, int]:
    """The caps with `points` given back to the event type's counter where it still counts the
    original's day and month, and the points given back of each."""
    counter = caps.get(event_type)
    if counter is None or points <= 0:
        return caps, 0, 0
    day_points, month_points = counter[CAP_DAY_POINTS], counter[CAP_MONTH_POINTS]
    day_back = min(points, day_points) if counter[CAP_DAY] == day else 0
    month_back = min(points, month_points) if counter[CAP_MONTH] == month else 0
    if not day_back and not month_back:
        return caps, 0, 0
    given = dict(caps)
    given[event_type] = [
        counter[CAP_DAY],
        day_points - day_back,
        counter[CAP_MONTH],
        month_points - month_back,
    ]
    return given, day_back, month_back


def _unchanged(state: UserState, record: RawRecord, given: dict[str, Any]) -> GivenBack:
    return GivenBack(state.caps, state.returnable, {}, record, given)


def explained(
    original: str,
    event_type: str | None,
    day_points: int,
    month_points: int,
    budget_points: dict[str, int],
    why_nothing: str | None = None,
) -> dict[str, Any]:
    """The explanation's `given_back`: the points given back of the original's event type's
    daily and monthly cap counters and of each rule's budget, and the detail in words."""
    budgets = {rule: -points for rule, points in budget_points.items()}
    if why_nothing is not None:
        detail = why_nothing
    elif day_points or month_points or budgets:
        caps = f"{day_points} of the daily and {month_points} of the monthly cap of '{event_type}'"
        spent = ", ".join(f"{points} of rule '{rule}'s budget" for rule, points in budgets.items())
        detail = f"gave back {caps}" + (f"; {spent}" if spent else "")
    else:
        detail = (
            "nothing to give back: the share is 0 points, or its cap periods have ended and it "
            "used no budget"
        )
    return {
        "original_event_id": original,
        "event_type": event_type,
        "daily_cap_points": day_points,
        "monthly_cap_points": month_points,
        "budget_points": budgets,
        "detail": detail,
    }


def _share(points: int, amount: Decimal, before: Decimal, after: Decimal) -> int:
    """As `ledger.core.returns.share_of_award`: the running total's share, rounded down."""
    whole = Fraction(amount)
    return floor(points * Fraction(after) / whole) - floor(points * Fraction(before) / whole)


def original_event_id(event: EventV1, reference: str) -> str:
    """A partner's original is its event with that reference (the gateway's deterministic id);
    an internal service's names its original's event id."""
    if event.partner_id is None:
        return reference
    return event_id_for(event.programme_id, event.partner_id, reference)
