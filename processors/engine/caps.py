"""Daily and monthly caps: points per user per event type per local calendar day and month.

A counter only holds the current periods; a counter from an earlier day or month reads as zero.
Counters count the points paid (after multipliers), earn and redeem alike.
"""

from processors.engine.compile import CompiledRule
from processors.engine.periods import Moment
from processors.engine.state import CapCounter


def current(counter: CapCounter | None, moment: Moment) -> CapCounter:
    """The counter as of `moment`, with any period that has ended reset to zero."""
    if counter is None:
        return CapCounter(moment.day, 0, moment.month, 0)
    if counter.day == moment.day:
        return counter
    if counter.month == moment.month:
        return CapCounter(moment.day, 0, moment.month, counter.month_points)
    return CapCounter(moment.day, 0, moment.month, 0)


def cut(rule: CompiledRule, counter: CapCounter, points: int, cuts: list[str]) -> int:
    """`points` reduced to what the rule's caps still allow; each cut is described in `cuts`."""
    if rule.daily_cap is not None:
        allowed = max(0, rule.daily_cap - counter.day_points)
        if points > allowed:
            cuts.append(f"daily_cap {rule.daily_cap} cut {points} -> {allowed}")
            points = allowed
    if rule.monthly_cap is not None:
        allowed = max(0, rule.monthly_cap - counter.month_points)
        if points > allowed:
            cuts.append(f"monthly_cap {rule.monthly_cap} cut {points} -> {allowed}")
            points = allowed
    return points


def counted(counter: CapCounter, points: int) -> CapCounter:
    return CapCounter(
        counter.day, counter.day_points + points, counter.month, counter.month_points + points
    )
