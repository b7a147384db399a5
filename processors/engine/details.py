"""Renderers of the facts the hot path records (see `explain`): each turns a few values into the
`RuleTrace`s of an explanation, using the same arithmetic the decision used, so the text always
tells what happened. None of this runs while deciding.
"""

from collections.abc import Mapping
from typing import Any, Final

from processors.engine import caps
from processors.engine.compile import CompiledPartner, CompiledProgramme, CompiledRule
from processors.engine.exceptions import InvariantError
from processors.engine.explain import OUTCOME_CODES, RuleTrace
from processors.engine.frequency import limited_detail
from processors.engine.matching import mismatch
from processors.engine.periods import ProgrammeCalendar
from processors.engine.state import CapCounter, FrequencyMark, StreakProgress
from processors.engine.streaks import progress_detail
from schemas.reasons import ReasonCode

PAYMENT_TRACES_MAX: Final = 4096
"""Traces a programme's `payment_traces` memo keeps at most (a bound, far above a programme's
rules times tiers times partners)."""


def traced(rule_id: str, version: int, outcome: str, detail: str) -> tuple[RuleTrace]:
    """A trace whose detail was written when deciding (rare outcomes only)."""
    return (RuleTrace(rule_id, version, outcome, detail, 0, OUTCOME_CODES.get(outcome)),)


def mismatches(
    rules: tuple[CompiledRule, ...], count: int, metadata: Mapping[str, Any], at_us: int
) -> list[RuleTrace]:
    """Why each of the first `count` rules did not match."""
    traces = []
    for rule in rules[:count]:
        trace = mismatch(rule, metadata, at_us)
        if trace is None:
            raise InvariantError(f"rule {rule.rule_id} matched when explained, not when decided")
        traces.append(trace)
    return traces


def not_counted(rule: CompiledRule, why: str) -> tuple[RuleTrace]:
    return (
        RuleTrace(rule.rule_id, rule.version, "not_counted", why, 0, ReasonCode.STREAK_NOT_COUNTED),
    )


def streak_progress(rule: CompiledRule, progress: StreakProgress) -> tuple[RuleTrace]:
    detail = progress_detail(rule, progress)
    code = ReasonCode.STREAK_PROGRESS
    return (RuleTrace(rule.rule_id, rule.version, "streak_progress", detail, 0, code),)


def limited(
    rule: CompiledRule,
    mark: FrequencyMark,
    calendar: ProgrammeCalendar,
    streak: StreakProgress | None,
) -> tuple[RuleTrace]:
    detail = _note(rule, streak) + limited_detail(rule, mark, calendar)
    code = ReasonCode.FREQUENCY
    return (RuleTrace(rule.rule_id, rule.version, "frequency_limited", detail, 0, code),)


def negative_unit(rule: CompiledRule, value: int | float) -> tuple[RuleTrace]:
    detail = f"{rule.unit_field} {value!r} is negative: no points"
    code = ReasonCode.INVALID_AMOUNT
    return (RuleTrace(rule.rule_id, rule.version, "invalid_amount", detail, 0, code),)


def payment(
    rule: CompiledRule,
    streak: StreakProgress | None,
    base: int | float | None,
    programme: CompiledProgramme,
    tier: str,
    partner: CompiledPartner | None,
    gross: int,
    counter: CapCounter,
    left: int | None,
) -> tuple[RuleTrace]:
    """A matching rule's amount, multipliers and every cut, replayed from the gross amount."""
    memo = programme.payment_traces
    key = None
    if (
        streak is None
        and base is None
        and left is None
        and (not rule.capped or caps.cut(rule, counter, gross) == gross)
    ):
        # Fixed points, no streak, no budget, no cap cut: the trace depends on the rule, the
        # tier and the partner only (the gross amount follows from them), so it is shared.
        key = (rule.rule_id, tier, partner)
        shared = memo.get(key)
        if shared is not None:
            return (shared,)
    trace = _payment(rule, streak, base, programme, tier, partner, gross, counter, left)
    if key is not None and len(memo) < PAYMENT_TRACES_MAX:
        memo[key] = trace
    return (trace,)


def _payment(
    rule: CompiledRule,
    streak: StreakProgress | None,
    base: int | float | None,
    programme: CompiledProgramme,
    tier: str,
    partner: CompiledPartner | None,
    gross: int,
    counter: CapCounter,
    left: int | None,
) -> RuleTrace:
    text = _note(rule, streak) + _base_text(rule, base)
    if rule.kind == "earn":
        text += programme.tier_texts[tier]
        text += " * partner 1" if partner is None else partner.multiplier_text
    cuts = [caps.Cut(f"{text} = {gross} ({programme.rounding})")]
    points = caps.budget_cut(rule, left, caps.cut(rule, counter, gross, cuts), cuts)
    binding = next((step for step in reversed(cuts) if step.reason_code is not None), None)
    code = None if binding is None else binding.reason_code
    reason = None if binding is None else binding.reason
    if rule.kind == "redeem" and points < gross:
        refusal = f"redemption of {gross} refused: all or nothing"
        cuts.append(caps.Cut(refusal))
        reason = refusal if reason is None else f"{reason}; {refusal}"
        points = 0
    detail = "; ".join(step.detail for step in cuts)
    if points > 0:
        return RuleTrace(rule.rule_id, rule.version, "awarded", detail, points, code, reason)
    return RuleTrace(rule.rule_id, rule.version, "cut_to_zero", detail, 0, code, reason)


def _base_text(rule: CompiledRule, base: int | float | None) -> str:
    if rule.points_type == "external":
        return f"external {base}"
    if rule.points_type == "per_unit":
        return f"{rule.points_text} * {rule.unit_field} {base!r}"
    return rule.points_text


def _note(rule: CompiledRule, streak: StreakProgress | None) -> str:
    # A streak rule pays at the event completing the streak; its trace says so first.
    return "" if streak is None else f"{progress_detail(rule, streak)}; "
