"""A return event (an event type with `returns`): it earns nothing and asks the ledger to take
back the returned share of its original's awards. The ledger works the points out, since only
it holds every original, its amount and the returns before this one (ledger.core.returns).

It also gives back what the original's awards used of the user's caps and of the rules'
budgets, by the same share, when the original is still among the user's applied events (the
last `APPLIED_MAX`): that is where its awards, time, type and amount are, and the returns of it
since (which came after it). A cap counter holds only the current day and month, so an older
original has nothing left to give back there. Over-returns give back nothing.

The command is the same every time, redelivered or not, so the ledger answers a redelivery
as a repeat; the give-back is applied once (with the return's record)."""

from decimal import Decimal
from fractions import Fraction
from math import floor

from processors.engine.amounts import returned_amount
from processors.engine.compile import CompiledProgramme, CompiledReturn
from processors.engine.conclude import with_applied, without_rules
from processors.engine.decision import Decision
from processors.engine.explain import Explanation
from processors.engine.outcomes import ReturnAsk
from processors.engine.periods import instant
from processors.engine.state import (
    CAP_DAY,
    CAP_DAY_POINTS,
    CAP_MONTH,
    CAP_MONTH_POINTS,
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
        decision = Decision(event.event_id, "no_points", 0, (), state, explanation)
    else:
        given_back = _given_back(state, programme, original, Decimal(amount))
        consumed: dict[str, int] = {}
        if given_back is None:  # an over-return: the ledger refuses it, and it counts for nothing
            caps = state.caps
            record = reason_record("no_points", reason)
        else:
            caps, consumed = given_back
            record = return_record(original, amount)
        given = UserState(
            state.tier, caps, state.marks, state.streaks, state.applied, state.tiering
        )
        new_state = with_applied(given, event.event_id, record)
        decision = Decision(
            event.event_id, "no_points", 0, (), new_state, explanation, (), consumed
        )
    decision.returning = ask
    return decision


def _given_back(
    state: UserState, programme: CompiledProgramme, original: str, returned: Decimal
) -> tuple[dict[str, list[int]], dict[str, int]] | None:
    """The caps with the original's share given back, and the (negative) budget use; None for
    an over-return (of an original the state still holds)."""
    record = state.applied.get(original)
    kept = None if record is None else returnable_of(record)
    if record is None or kept is None:
        return state.caps, {}
    event_type, amount_text = kept
    amount, before = Decimal(amount_text), Decimal(0)
    for other in state.applied.values():
        earlier = returned_of(other)
        if earlier is not None and earlier[0] == original:
            before += Decimal(earlier[1])
    after = before + returned
    if amount <= 0:
        return state.caps, {}
    if after > amount:
        return None
    outcome = applied_outcome(record)
    shares = {
        award.rule_id: _share(award.points, amount, before, after)
        for award in outcome.awards
        if award.kind == "earn"
    }
    budgeted = programme.budgeted_rules
    consumed = {rule: -points for rule, points in shares.items() if points and rule in budgeted}
    at_us = outcome.occurred_at_us
    counter = state.caps.get(event_type)
    if at_us is None or counter is None:
        return state.caps, consumed
    _, day, month = programme.calendar.periods(instant(at_us))
    total = sum(shares.values())
    day_points, month_points = counter[CAP_DAY_POINTS], counter[CAP_MONTH_POINTS]
    if counter[CAP_DAY] == day:
        day_points = max(0, day_points - total)
    if counter[CAP_MONTH] == month:
        month_points = max(0, month_points - total)
    caps = dict(state.caps)
    caps[event_type] = [counter[CAP_DAY], day_points, counter[CAP_MONTH], month_points]
    return caps, consumed


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
