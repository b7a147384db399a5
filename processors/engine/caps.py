"""Daily and monthly caps: points per user per event type per local calendar day and month.

A counter only holds the current periods; a counter from an earlier day or month reads as zero
(`Draft.cap_counter`). Counters count the points paid (after multipliers), earn and redeem alike.
"""

from processors.engine.compile import CompiledRule
from processors.engine.state import CAP_DAY_POINTS, CAP_MONTH_POINTS, CapCounter


def cut(rule: CompiledRule, counter: CapCounter, points: int, cuts: list[str] | None = None) -> int:
    """`points` reduced to what the rule's caps still allow. Explanations pass `cuts` to have
    each cut described; deciding does not, so the same arithmetic serves both."""
    if rule.daily_cap is not None:
        allowed = max(0, rule.daily_cap - counter[CAP_DAY_POINTS])
        if points > allowed:
            if cuts is not None:
                cuts.append(f"daily_cap {rule.daily_cap} cut {points} -> {allowed}")
            points = allowed
    if rule.monthly_cap is not None:
        allowed = max(0, rule.monthly_cap - counter[CAP_MONTH_POINTS])
        if points > allowed:
            if cuts is not None:
                cuts.append(f"monthly_cap {rule.monthly_cap} cut {points} -> {allowed}")
            points = allowed
    return points


def budget_cut(
    rule: CompiledRule, left: int | None, points: int, cuts: list[str] | None = None
) -> int:
    """`points` reduced to the rule's global budget `left` (None: the rule has no budget)."""
    if left is None:
        return points
    if points > left:
        if cuts is not None:
            cuts.append(f"budget_max {rule.budget_max} cut {points} -> {left}")
        return left
    if cuts is not None:
        cuts.append(f"budget left {left - points}")
    return points
