"""Daily and monthly caps: points per user per event type per local calendar day and month.

A counter only holds the current periods; a counter from an earlier day or month reads as zero
(`Draft.cap_counter`). Counters count the points paid (after multipliers), earn and redeem alike.
"""

from typing import NamedTuple

from processors.engine.compile import CompiledRule
from processors.engine.state import CAP_DAY_POINTS, CAP_MONTH_POINTS, CapCounter
from schemas.reasons import ReasonCode


class Cut(NamedTuple):
    """One step of an explained payment: its text in the trace's detail and, for a step that
    cut the amount, its reason code and its words for the answer's `reason`."""

    detail: str
    reason_code: ReasonCode | None = None
    reason: str | None = None


def _cut(
    code: ReasonCode, name: str, words: str, limit: int | None, before: int, after: int
) -> Cut:
    return Cut(
        f"{name} {limit} cut {before} -> {after}",
        code,
        f"{words} {limit}: cut from {before} to {after}",
    )


def cut(rule: CompiledRule, counter: CapCounter, points: int, cuts: list[Cut] | None = None) -> int:
    """`points` reduced to what the rule's caps still allow. Explanations pass `cuts` to have
    each cut described; deciding does not, so the same arithmetic serves both."""
    if rule.daily_cap is not None:
        allowed = max(0, rule.daily_cap - counter[CAP_DAY_POINTS])
        if points > allowed:
            if cuts is not None:
                cuts.append(
                    _cut(
                        ReasonCode.DAILY_CAP,
                        "daily_cap",
                        "daily cap",
                        rule.daily_cap,
                        points,
                        allowed,
                    )
                )
            points = allowed
    if rule.monthly_cap is not None:
        allowed = max(0, rule.monthly_cap - counter[CAP_MONTH_POINTS])
        if points > allowed:
            if cuts is not None:
                cuts.append(
                    _cut(ReasonCode.MONTHLY_CAP, "monthly_cap", "monthly cap", rule.monthly_cap,
                         points, allowed)
                )  # fmt: skip
            points = allowed
    return points


def budget_cut(
    rule: CompiledRule, left: int | None, points: int, cuts: list[Cut] | None = None
) -> int:
    """`points` reduced to the rule's global budget `left` (None: the rule has no budget)."""
    if left is None:
        return points
    if points > left:
        if cuts is not None:
            cuts.append(
                _cut(ReasonCode.BUDGET, "budget_max", "rule budget", rule.budget_max, points, left)
            )
        return left
    if cuts is not None:
        cuts.append(Cut(f"budget left {left - points}"))
    return points
