"""Frequency limits: how often one rule may pay one user.

Calendar limits (daily, weekly, monthly) use the programme's local calendar; ISO weeks start on
Monday. Rolling limits ("once per N minutes/hours/days") count from the instant the rule last
paid. A rule that paid nothing (cut to zero by a cap) leaves no mark.
"""

from processors.engine.compile import CompiledRule
from processors.engine.periods import ProgrammeCalendar, iso_utc, week_of
from processors.engine.state import FrequencyMark


def is_limited(
    rule: CompiledRule, mark: FrequencyMark, now_us: int, today: int, month_now: int
) -> bool:
    """Whether `mark` (when the rule last paid) still limits the rule at the instant `now_us`,
    on local day `today` of local month `month_now`."""
    frequency = rule.frequency
    if frequency == "unlimited":
        return False
    if frequency == "once":
        return True
    at_us, day, month = mark
    if frequency == "daily":
        return day == today
    if frequency == "weekly":
        return week_of(day) == week_of(today)
    if frequency == "monthly":
        return month == month_now
    return now_us < at_us + rule.window_us


def limited_detail(rule: CompiledRule, mark: FrequencyMark, calendar: ProgrammeCalendar) -> str:
    """Explanation of a limit: which one and until when."""
    frequency = rule.frequency
    at_us, day, month = mark
    if frequency == "once":
        return f"frequency once: already paid at {iso_utc(at_us)}"
    if frequency == "daily":
        until_us = calendar.day_start_us(day + 1)
    elif frequency == "weekly":
        until_us = calendar.day_start_us((week_of(day) + 1) * 7 + 1)
    elif frequency == "monthly":
        until_us = calendar.month_start_us(month + 1)
    else:
        until_us = at_us + rule.window_us
        frequency = f"once per {rule.window_us // 60_000_000} minutes"
    return f"frequency {frequency}: limited until {iso_utc(until_us)}"
