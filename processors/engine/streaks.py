"""Streaks: a reward paid once, at the event that completes a run of matching events.

- daily (`events_per_day` x, `days` y): x matching events on each of y consecutive local days.
  A day with fewer than x events, or a day without any, resets the run. After a completion the
  rest of that day does not count, so the next run starts the following day.
- before (`events` x, `before` t): x matching events before the instant t, paid once.
Events older than the last counted day (late arrivals) do not count.

`advance` only counts; `progress_detail` describes the new progress for explanations, from the
progress alone, so no text is written while deciding.
"""

from typing import Final

from processors.engine.compile import CompiledRule
from processors.engine.state import STREAK_DONE_TODAY, StreakProgress
from schemas.programme import BeforeStreak, DailyStreak

StreakStep = tuple[StreakProgress | None, bool, str]
"""(new progress or None when the event did not count, completed, why it did not count).
A plain tuple: one is made for every streak rule an event matches."""

LATE: Final = "event is older than the streak's last counted day"
DONE_TODAY: Final = "streak completed earlier today; the next run starts tomorrow"
ALREADY_COMPLETED: Final = "streak already completed"
DEADLINE_PASSED: Final = "streak deadline has passed"
_EVENTS: Final = 1


def advance(
    rule: CompiledRule, progress: StreakProgress | None, at_us: int, day: int
) -> StreakStep:
    """Count an event of the instant `at_us`, on local day `day`, towards the rule's streak.
    The streak's numbers come from the compiled rule (`streak_events`, ...): reading them from
    the configuration's pydantic model costs more than the counting."""
    per_day = rule.streak_events_per_day
    if per_day == 0:
        if rule.streak_before_us is not None:
            return _advance_before(rule.streak_events, rule.streak_before_us, progress, at_us)
        return None, False, "rule has no streak"
    # Daily, inline: most events of a programme with streaks count towards one.
    last_day, events, days = (-1, 0, 0) if progress is None else progress
    if day > last_day:
        continues = progress is not None and day == last_day + 1 and events >= per_day
        days, count = (days + 1 if continues else 0), 1
    elif day < last_day:
        return None, False, LATE
    elif events == STREAK_DONE_TODAY:
        return None, False, DONE_TODAY
    else:
        count = events + 1
    if count == per_day and days + 1 >= rule.streak_days:
        return [day, STREAK_DONE_TODAY, 0], True, ""
    return [day, count, days], False, ""


def _advance_before(
    needed: int, before_us: int, progress: StreakProgress | None, at_us: int
) -> StreakStep:
    count = 0 if progress is None else progress[_EVENTS]
    if count >= needed:
        return None, False, ALREADY_COMPLETED
    if at_us >= before_us:
        return None, False, DEADLINE_PASSED
    count += 1
    return [0, count, 0], count == needed, ""


def progress_detail(rule: CompiledRule, progress: StreakProgress) -> str:
    """What `advance` did, told from the progress it returned."""
    streak = rule.streak
    _, events, days = progress
    if isinstance(streak, DailyStreak):
        per_day = streak.events_per_day
        if events == STREAK_DONE_TODAY:
            return f"streak complete: {per_day} events a day for {streak.days} days"
        return f"day {days + 1} of {streak.days}: {min(events, per_day)} of {per_day} events today"
    if isinstance(streak, BeforeStreak):
        return f"{events} of {streak.events} events before the deadline"
    return "rule has no streak"
