"""Streaks: a reward paid once, at the event that completes a run of matching events.

- daily (`events_per_day` x, `days` y): x matching events on each of y consecutive local days.
  A day with fewer than x events, or a day without any, resets the run. After a completion the
  rest of that day does not count, so the next run starts the following day.
- before (`events` x, `before` t): x matching events before the instant t, paid once.
Events older than the last counted day (late arrivals) do not count.
"""

from typing import NamedTuple

from processors.engine.compile import CompiledRule
from processors.engine.periods import Moment
from processors.engine.state import STREAK_DONE_TODAY, StreakProgress
from schemas.programme import BeforeStreak, DailyStreak


class StreakStep(NamedTuple):
    progress: StreakProgress | None
    """The new progress; None when the event did not count (nothing changes)."""
    completed: bool
    detail: str


def advance(rule: CompiledRule, progress: StreakProgress | None, moment: Moment) -> StreakStep:
    streak = rule.streak
    if isinstance(streak, DailyStreak):
        return _advance_daily(streak, progress, moment)
    if isinstance(streak, BeforeStreak) and rule.streak_before_us is not None:
        return _advance_before(streak.events, rule.streak_before_us, progress, moment)
    return StreakStep(None, False, "rule has no streak")


def _advance_daily(
    streak: DailyStreak, progress: StreakProgress | None, moment: Moment
) -> StreakStep:
    per_day, days_needed = streak.events_per_day, streak.days
    if progress is None or moment.day > progress.day:
        continues = (
            progress is not None and moment.day == progress.day + 1 and progress.events >= per_day
        )
        days, count = (progress.days + 1 if continues and progress else 0), 1
    elif moment.day < progress.day:
        return StreakStep(None, False, "event is older than the streak's last counted day")
    elif progress.events == STREAK_DONE_TODAY:
        return StreakStep(
            None, False, "streak completed earlier today; the next run starts tomorrow"
        )
    else:
        days, count = progress.days, progress.events + 1
    if count == per_day and days + 1 >= days_needed:
        return StreakStep(
            StreakProgress(moment.day, STREAK_DONE_TODAY, 0),
            True,
            f"streak complete: {per_day} events a day for {days_needed} days",
        )
    detail = f"day {days + 1} of {days_needed}: {min(count, per_day)} of {per_day} events today"
    return StreakStep(StreakProgress(moment.day, count, days), False, detail)


def _advance_before(
    needed: int, before_us: int, progress: StreakProgress | None, moment: Moment
) -> StreakStep:
    count = 0 if progress is None else progress.events
    if count >= needed:
        return StreakStep(None, False, "streak already completed")
    if moment.epoch_us >= before_us:
        return StreakStep(None, False, "streak deadline has passed")
    count += 1
    detail = f"{count} of {needed} events before the deadline"
    return StreakStep(StreakProgress(0, count, 0), count == needed, detail)
