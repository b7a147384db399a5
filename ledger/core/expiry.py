"""When a credit's points expire: the programme's policy applied to the day they were earned.

A lot's date is the programme's local day at whose midnight (its first instant) the lot expires,
as ISO text (`2026-04-01`); the expiry command of that local day expires it. The day a credit
was earned is its booking's `occurred_at` (the event's time) in the programme's time zone, or
the batch's time when the booking has none: never the writer's clock.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.programme import PointsExpiry


@dataclass(frozen=True, slots=True)
class ExpiryPolicy:
    """A programme's `points_expiry` other than `never`, with its time zone."""

    policy: str
    """`days_after_earning` or `end_of_period`."""
    days: int
    period: str
    """`month`, `quarter` or `year` (for `end_of_period`)."""
    after_months: int
    notice_days: int
    zone: ZoneInfo

    def expires_on(self, earned_at: datetime) -> str:
        """The lot date of points earned at `earned_at`."""
        return lot_date(self, earned_at.astimezone(self.zone).date()).isoformat()


def expiry_policy(config: PointsExpiry, time_zone: str) -> ExpiryPolicy | None:
    """None for `never`: nothing the programme books expires."""
    if config.policy == "never":
        return None
    return ExpiryPolicy(
        config.policy,
        config.days or 0,
        config.period or "month",
        config.after_months or 0,
        config.notice_days,
        ZoneInfo(time_zone),
    )


class LotDates:
    """`ExpiryPolicy.expires_on` for one batch's credits, each date worked out once: the
    conversion to the programme's time zone, the policy's arithmetic and the ISO text took
    about a microsecond per credit, a fifth of what keeping lots cost a booking. A batch's
    credits share few dates (all those without an `occurred_at` are earned at the batch's
    time), so each (policy, local day) is remembered, and the last instant asked for.
    Bounded: one instance per batch, at most one date per credit of it."""

    def __init__(self) -> None:
        self._last: tuple[ExpiryPolicy, datetime, str] | None = None
        # By the policy's id: hashing the policy's six fields cost more than the date itself.
        # The policies are the batch snapshot's, alive as long as this instance.
        self._dates: dict[tuple[int, date], str] = {}

    def expires_on(self, policy: ExpiryPolicy, earned_at: datetime) -> str:
        last = self._last
        if last is not None and last[0] is policy and last[1] == earned_at:
            return last[2]
        earned = earned_at.astimezone(policy.zone).date()
        key = (id(policy), earned)
        found = self._dates.get(key)
        if found is None:
            found = lot_date(policy, earned).isoformat()
            self._dates[key] = found
        self._last = (policy, earned_at, found)
        return found


def lot_date(policy: ExpiryPolicy, earned: date) -> date:
    """The local day at whose midnight points earned on the local day `earned` expire."""
    if policy.policy == "days_after_earning":
        return earned + timedelta(days=policy.days)
    months = earned.year * 12 + earned.month - 1 + policy.after_months
    year, month_index = divmod(months, 12)
    if policy.period == "year":
        return date(year + 1, 1, 1)
    if policy.period == "quarter":
        month_index = month_index // 3 * 3 + 2
    following = year * 12 + month_index + 1
    return date(following // 12, following % 12 + 1, 1)
