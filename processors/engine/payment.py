"""What a matching rule pays: amount, then caps, then frequency and budget.

`final = base * tier multiplier * partner multiplier` for earn rules, rounded by the programme's
policy and bounded by `award_points_max`. Redemptions cost their base amount (multipliers are a
reward for the user, not a surcharge) and are all-or-nothing: a cap or budget that cannot take
the whole cost refuses it instead of selling the reward for less.

Only numbers are computed here; the trace is a fact (`details.payment`) rendered on demand.
"""

from enum import Enum
from typing import Final, cast

from processors.engine import details
from processors.engine.amounts import SCALE, SCALE_CUBED, unit_ratio
from processors.engine.caps import budget_cut, cut
from processors.engine.compile import CompiledRule
from processors.engine.draft import Draft
from processors.engine.exceptions import InvariantError
from processors.engine.frequency import is_limited
from processors.engine.outcomes import ExternalCall
from processors.engine.state import StreakProgress


class _Unpaid(Enum):
    NOTHING_TO_PAY_ON = 0


NOTHING_TO_PAY_ON: Final = _Unpaid.NOTHING_TO_PAY_ON


def pay(rule: CompiledRule, draft: Draft, streak: StreakProgress | None = None) -> None:
    """Apply one matching rule: record its fact and, when it pays, book the award. `streak`: the
    progress that completed the rule's streak, if that is why it pays."""
    if rule.frequency != "unlimited":  # an unlimited rule is never limited, whatever its mark
        mark = draft.marks.get(rule.rule_id)
        if mark is not None and is_limited(rule, mark, draft.epoch_us, draft.day, draft.month):
            calendar = draft.programme.calendar
            draft.facts.append((details.limited, rule, mark, calendar, streak))
            return
    base = None if rule.points_type == "fixed" else _base(rule, draft)
    if base is NOTHING_TO_PAY_ON:
        return
    gross = _gross(rule, draft, base)
    counter = draft.cap_counter(rule.event_type)
    points = cut(rule, counter, gross) if rule.capped else gross
    left = None
    if rule.budget_max is not None:
        left = draft.budget_left(rule)
        points = budget_cut(rule, left, points)
    if points < gross and rule.kind == "redeem":
        points = 0
    if points > 0:
        draft.pay(rule, counter, points)
    draft.facts.append(
        (details.payment, rule, streak, base, draft.programme, draft.tier, draft.partner,
         gross, counter, left)
    )  # fmt: skip


def _base(rule: CompiledRule, draft: Draft) -> int | float | None | _Unpaid:
    """The per-unit value or external amount the rule pays on; None for fixed points;
    `NOTHING_TO_PAY_ON` (with the fact recorded) when there is none."""
    points_type = rule.points_type
    if points_type == "fixed":
        return None
    if points_type == "per_unit":
        # Validated before any rule runs: a mandatory, finite integer or float parameter.
        value = cast(int | float, draft.metadata[rule.unit_field])
        if value < 0:
            draft.facts.append((details.negative_unit, rule, value))
            return NOTHING_TO_PAY_ON
        return value
    return _external_base(rule, draft)


def _gross(rule: CompiledRule, draft: Draft, base: int | float | None) -> int:
    """The amount before caps and budget."""
    if base is None:
        numerator, denominator = rule.points_e4, 1
    elif rule.points_type == "per_unit":
        numerator, denominator = unit_ratio(base)
        numerator *= rule.points_e4
    else:
        numerator, denominator = int(base) * SCALE, 1
    programme = draft.programme
    if rule.kind == "earn":
        numerator *= draft.multiplier_e4
        denominator *= SCALE_CUBED
    else:
        denominator *= SCALE
    return min(programme.rounder(numerator, denominator), programme.award_points_max)


def _external_base(rule: CompiledRule, draft: Draft) -> int | _Unpaid:
    amount = draft.external_points.get(rule.rule_id)
    if amount is None:
        draft.call(_external_call(rule, draft))
        detail = "waiting for the external API's amount"
        draft.facts.append(
            (details.traced, rule.rule_id, rule.version, "needs_external_points", detail)
        )
        return NOTHING_TO_PAY_ON
    if type(amount) is not int or amount < 0:
        detail = f"external amount {amount!r} is not an integer >= 0: no points"
        draft.facts.append((details.traced, rule.rule_id, rule.version, "invalid_amount", detail))
        return NOTHING_TO_PAY_ON
    return amount


def _external_call(rule: CompiledRule, draft: Draft) -> ExternalCall:
    external = rule.external
    if external is None:
        raise InvariantError(f"rule {rule.rule_id} has points_type external but no request")
    return ExternalCall(
        rule_id=rule.rule_id,
        rule_version=rule.version,
        event_id=draft.event_id,
        url=external.url,
        method=external.method,
        headers=external.headers,
        body=external.body,
    )
