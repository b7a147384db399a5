"""Calendar periods in the programme's time zone, computed from the event's `occurred_at`.

An instant is epoch microseconds, with the local calendar day and month it falls in. Days are
proleptic ordinals (`date.toordinal()`; day 1 is Monday 0001-01-01, so ISO weeks are
`(day - 1) // 7`) and months are `year * 12 + month - 1`: plain integers that compare and
serialise cheaply.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US: Final = timedelta(microseconds=1)
HOUR_US: Final = 3_600_000_000
REMEMBERED_HOURS_MAX: Final = 10_000
"""More than a year of hours: a calendar's memo stays under 2 MB."""


def week_of(day: int) -> int:
    return (day - 1) // 7


def month_of(local: date) -> int:
    return local.year * 12 + local.month - 1


def epoch_us(at: datetime) -> int:
    # Field arithmetic: exact, and cheaper than `// ONE_US` (which builds big intermediates).
    since = at - EPOCH
    return since.days * 86_400_000_000 + since.seconds * 1_000_000 + since.microseconds


def instant(at_us: int) -> datetime:
    """The UTC datetime of epoch microseconds (`epoch_us`'s inverse)."""
    return EPOCH + at_us * ONE_US


def iso_utc(at_us: int) -> str:
    return instant(at_us).isoformat()


class ProgrammeCalendar:
    """Local days and months of one time zone.

    Remembers the days it resolved, by the UTC hour of the instant resolved: events in time
    order find the last day again with two integer comparisons, and a replay that takes each
    user's events together (their days come round again user after user) finds the day by its
    hour. A remembered day is used only for an instant within its bounds (an hour may hold a
    local midnight: zones half an hour off UTC), so the memo never changes a result, only its
    cost. A plain dict, emptied when full, rather than an LRU cache: this runs for every
    decision, and a cache's bookkeeping costs more than the occasional day resolved again.
    Sharing a calendar between threads is safe: each write is one dict item or one attribute.
    """

    __slots__ = ("_days", "_last_day", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._last_day: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._days: dict[int, tuple[int, int, int, int]] = {}

    def periods(self, at: datetime) -> tuple[int, int, int]:
        """(epoch microseconds, local day, local month) of `at`."""
        at_us = epoch_us(at)
        start_us, end_us, day, month = self._last_day
        if start_us <= at_us < end_us:
            return at_us, day, month
        hour = at_us // HOUR_US
        bounds = self._days.get(hour)
        if bounds is None or not bounds[0] <= at_us < bounds[1]:
            bounds = self._resolve(at)
            if len(self._days) >= REMEMBERED_HOURS_MAX:
                self._days.clear()
            self._days[hour] = bounds
        self._last_day = bounds
        return at_us, bounds[2], bounds[3]

    def _resolve(self, at: datetime) -> tuple[int, int, int, int]:
        local = at.astimezone(self.zone).date()
        day = local.toordinal()
        return self.day_start_us(day), self.day_start_us(day + 1), day, month_of(local)

    def day_start_us(self, day: int) -> int:
        """First instant of a local day; where midnight does not exist (a DST gap at 00:00),
        fold=0 puts it at the transition, which is exactly when that day begins."""
        local = date.fromordinal(day)
        return epoch_us(datetime(local.year, local.month, local.day, tzinfo=self.zone))

    def month_start_us(self, month: int) -> int:
        year, index = divmod(month, 12)
        return self.day_start_us(date(year, index + 1, 1).toordinal())
