"""What a matching rule pays: amount, then caps, then frequency and budget.

`final = base * tier multiplier * partner multiplier` for earn rules, rounded by the programme's
policy and bounded by `award_points_max`. Redemptions cost their base amount (multipliers are a
reward for the user, not a surcharge) and are all-or-nothing: a cap or budget that cannot take
the whole cost refuses it instead of selling the reward for less.
"""

from typing import NamedTuple, cast

from processors.engine import caps
from processors.engine.amounts import SCALE, SCALE_CUBED, unit_ratio
from processors.engine.compile import CompiledRule
from processors.engine.context import EventContext
from processors.engine.draft import Draft
from processors.engine.exceptions import InvariantError
from processors.engine.explain import RuleTrace
from processors.engine.frequency import is_limited, limited_detail
from processors.engine.outcomes import ExternalCall


class Gross(NamedTuple):
    points: int
    text: str


def pay(rule: CompiledRule, context: EventContext, draft: Draft, note: str = "") -> None:
    """Apply one matching rule: append its trace and, when it pays, book the award."""
    mark = draft.marks.get(rule.rule_id)
    if mark is not None and is_limited(rule, mark, draft.moment):
        detail = note + limited_detail(rule, mark, context.programme.calendar)
        draft.traces.append(RuleTrace(rule.rule_id, rule.version, "frequency_limited", detail))
        return
    gross = _gross(rule, context, draft)
    if isinstance(gross, RuleTrace):
        draft.traces.append(gross)
        return
    counter = draft.cap_counter(rule.event_type)
    cuts: list[str] = []
    points = _limited(rule, draft, caps.cut(rule, counter, gross.points, cuts), cuts)
    if rule.kind == "redeem" and points < gross.points:
        cuts.append(f"redemption of {gross.points} refused: all or nothing")
        points = 0
    detail = "; ".join([note + gross.text, *cuts])
    if points > 0:
        draft.pay(rule, counter, points)
        draft.traces.append(RuleTrace(rule.rule_id, rule.version, "awarded", detail, points))
    else:
        draft.traces.append(RuleTrace(rule.rule_id, rule.version, "cut_to_zero", detail))


def _limited(rule: CompiledRule, draft: Draft, points: int, cuts: list[str]) -> int:
    left = draft.budget_left(rule)
    if left is None:
        return points
    if points > left:
        cuts.append(f"budget_max {rule.budget_max} cut {points} -> {left}")
        return left
    cuts.append(f"budget left {left - points}")
    return points


def _gross(rule: CompiledRule, context: EventContext, draft: Draft) -> Gross | RuleTrace:
    """The amount before caps, or the trace of why there is none."""
    if rule.points_type == "external":
        base = _external_base(rule, context, draft)
        if isinstance(base, RuleTrace):
            return base
        numerator, denominator, text = base * SCALE, 1, f"external {base}"
    elif rule.points_type == "per_unit":
        # Validated before any rule runs: a mandatory, finite integer or float parameter.
        value = cast(int | float, context.metadata[rule.unit_field])
        numerator, denominator = unit_ratio(value)
        if numerator < 0:
            detail = f"{rule.unit_field} {value!r} is negative: no points"
            return RuleTrace(rule.rule_id, rule.version, "invalid_amount", detail)
        numerator *= rule.points_e4
        text = f"{rule.points_text} * {rule.unit_field} {value!r}"
    else:
        numerator, denominator, text = rule.points_e4, 1, rule.points_text
    return _multiplied(rule, context, numerator, denominator, text)


def _multiplied(
    rule: CompiledRule, context: EventContext, numerator: int, denominator: int, text: str
) -> Gross:
    programme = context.programme
    if rule.kind == "earn":
        numerator *= context.tier_e4 * context.partner_e4
        denominator *= SCALE_CUBED
        text += context.multipliers_text
    else:
        denominator *= SCALE
    points = min(programme.rounder(numerator, denominator), programme.award_points_max)
    return Gross(points, f"{text} = {points} ({programme.rounding})")


def _external_base(rule: CompiledRule, context: EventContext, draft: Draft) -> int | RuleTrace:
    amount = context.external_points.get(rule.rule_id)
    if amount is None:
        draft.external_calls.append(_external_call(rule, context))
        detail = "waiting for the external API's amount"
        return RuleTrace(rule.rule_id, rule.version, "needs_external_points", detail)
    if type(amount) is not int or amount < 0:
        detail = f"external amount {amount!r} is not an integer >= 0: no points"
        return RuleTrace(rule.rule_id, rule.version, "invalid_amount", detail)
    return amount


def _external_call(rule: CompiledRule, context: EventContext) -> ExternalCall:
    external = rule.external
    if external is None:
        raise InvariantError(f"rule {rule.rule_id} has points_type external but no request")
    return ExternalCall(
        rule_id=rule.rule_id,
        rule_version=rule.version,
        event_id=context.event.event_id,
        url=external.url,
        method=external.method,
        headers=external.headers,
        body=external.body,
    )
