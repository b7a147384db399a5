"""A return event (an event type with `returns`): it earns nothing and asks the ledger to take
back the returned share of its original's awards. The ledger works the points out, since only
it holds the original's awards, its amount and the returns before this one (ledger.core.returns).

Decided the same every time, redelivered or not (a return changes no counter of the user's
state), so a redelivery sends the same command and the ledger answers it as a repeat."""

from decimal import Decimal, InvalidOperation

from processors.engine.compile import CompiledProgramme, CompiledReturn
from processors.engine.conclude import with_applied, without_rules
from processors.engine.decision import Decision
from processors.engine.explain import Explanation
from processors.engine.outcomes import ReturnAsk
from processors.engine.state import UserState, reason_record
from schemas.events import EventV1, event_id_for
from schemas.programme import RETURN_REFERENCE_PARAMETER
from schemas.reasons import ReasonCode

AMOUNT_DIGITS_MAX = 30


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
    new_state = state
    if event.event_id not in state.applied:
        new_state = with_applied(state, event.event_id, reason_record("no_points", reason))
    decision = Decision(event.event_id, "no_points", 0, (), new_state, explanation)
    decision.returning = ask
    return decision


def original_event_id(event: EventV1, reference: str) -> str:
    """A partner's original is its event with that reference (the gateway's deterministic id);
    an internal service's names its original's event id."""
    if event.partner_id is None:
        return reference
    return event_id_for(event.programme_id, event.partner_id, reference)


def returned_amount(value: object) -> str | None:
    """The amount as an exact decimal's text, or None if it is not a number above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or len(amount.as_tuple().digits) > AMOUNT_DIGITS_MAX:
        return None
    return format(amount.normalize(), "f")
