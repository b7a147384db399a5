"""Tiers from points (`schemas.programme.TierPolicy`): pure functions of a user's tier, what they
earned and the day. The user's state keeps a `TierProgress`:

    [review_day, in_grace, month, points, month, points, ...]

`review_day`: the local day (a proleptic ordinal, `periods`) the tier is due for review, 0 for
never (the default tier, or a policy that never downgrades); `in_grace`: 1 while a `grace`
downgrade waits; then the points earned per local month (`periods.month_of`), oldest first, at
most `window_months` of them (one bucket, month 0, for a lifetime basis). Bounded whatever the
user does: 2 + 2 x 120 integers at the most.

Why monthly buckets in the processors' keyed state: the upgrade is decided at the event that
crosses the threshold, by the processor that decides the event, so the window must be where the
event is decided, read and written with the user's state and nothing else (no query per event).
Months, not days: a 12-month window is 12 integers pairs, and programmes state windows in months.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, NamedTuple

from processors.engine.periods import month_of
from schemas.programme import ProgrammeConfig

TierProgress = list[int]
REVIEW_DAY: Final = 0
IN_GRACE: Final = 1
BUCKETS: Final = 2
LIFETIME_MONTH: Final = 0

THRESHOLD_CROSSED: Final = "threshold_crossed"
"""The points earned reached a higher tier (at an event, or found at a review)."""
DOWNGRADE_POLICY: Final = "downgrade_policy"
"""A review lowered the tier as the policy says."""
MANUAL: Final = "manual"
"""Set by hand (`tier.assigned`)."""
RENEWED: Final = "renewed"
"""A review found the points still reach the tier: a new period, same tier."""
GRACE: Final = "grace"
"""A review found the points short; the `grace` policy keeps the tier `grace_days` more."""
NOT_DUE: Final = "not_due"
"""A review found nothing due (the ledger's copy of the review day, which chose the user, was
behind: a rejected command, a policy removed): restates the review day so the copy catches up
and the user is not chosen again every day."""


@dataclass(frozen=True, slots=True)
class CompiledTierPolicy:
    names: tuple[str, ...]
    """The tiers, lowest threshold first."""
    thresholds: tuple[int, ...]
    ranks: dict[str, int]
    window_months: int
    """0 for a lifetime basis."""
    period_months: int
    downgrade: str
    grace_days: int


class TierChange(NamedTuple):
    """What a decision did to the user's tier or its review day (`previous` may equal `tier`:
    a renewal or a grace starts a new review day, which the scheduler must know)."""

    previous: str
    tier: str
    reason: str
    review_day: int

    def to_dict(self) -> dict[str, Any]:
        review = self.review_day
        return {
            "from": self.previous,
            "to": self.tier,
            "reason": self.reason,
            "review_on": date.fromordinal(review).isoformat() if review else None,
        }


def compile_tier_policy(config: ProgrammeConfig) -> CompiledTierPolicy | None:
    policy = config.tier_policy
    if policy is None:
        return None
    ordered = sorted(config.tiers, key=lambda tier: tier.threshold_points or 0)
    names = tuple(tier.name for tier in ordered)
    return CompiledTierPolicy(
        names=names,
        thresholds=tuple(tier.threshold_points or 0 for tier in ordered),
        ranks={name: rank for rank, name in enumerate(names)},
        window_months=policy.window_months or 0,
        period_months=policy.period_months,
        downgrade=policy.downgrade,
        grace_days=policy.grace_days or 0,
    )


def window_points(policy: CompiledTierPolicy, progress: TierProgress | None, month: int) -> int:
    """The points earned in the window that ends with `month` (all of them: lifetime)."""
    if progress is None:
        return 0
    window = policy.window_months
    total = 0
    for index in range(BUCKETS, len(progress), 2):
        if window == 0 or month - window < progress[index] <= month:
            total += progress[index + 1]
    return total


def earned(
    policy: CompiledTierPolicy, progress: TierProgress | None, month: int, points: int
) -> TierProgress:
    """`progress` with `points` earned in `month`; months that fell out of the window dropped."""
    window = policy.window_months
    month = month if window else LIFETIME_MONTH
    buckets: dict[int, int] = {}
    head = [0, 0] if progress is None else progress[:BUCKETS]
    if progress is not None:
        for index in range(BUCKETS, len(progress), 2):
            buckets[progress[index]] = progress[index + 1]
    buckets[month] = buckets.get(month, 0) + points
    newest = max(buckets)
    kept = [
        value
        for bucket in sorted(buckets)
        if window == 0 or bucket > newest - window
        for value in (bucket, buckets[bucket])
    ]
    return [*head, *kept]


def qualifying(policy: CompiledTierPolicy, points: int) -> str:
    """The highest tier whose threshold `points` reach (the default tier's is 0)."""
    reached = 0
    for rank, threshold in enumerate(policy.thresholds):
        if points >= threshold:
            reached = rank
    return policy.names[reached]


def review_day_after(policy: CompiledTierPolicy, tier: str, day: int) -> int:
    """When a tier reached on `day` is reviewed: `period_months` later; never for the lowest
    tier, nor under a policy that never downgrades."""
    if policy.ranks.get(tier, 0) == 0 or policy.downgrade == "never":
        return 0
    return add_months(day, policy.period_months)


def add_months(day: int, months: int) -> int:
    """The same day of the month `months` later (the month's last day if it is shorter)."""
    start = date.fromordinal(day)
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last)).toordinal()


def after_earning(
    policy: CompiledTierPolicy,
    tier: str,
    progress: TierProgress | None,
    day: int,
    month: int,
    points: int,
) -> tuple[str, TierProgress, TierChange | None]:
    """After an event that earned `points` (> 0): the upgrade if the window now reaches a
    higher tier. The event itself was decided (and earned) at `tier`."""
    progress = earned(policy, progress, month, points)
    reached = qualifying(policy, window_points(policy, progress, month))
    if policy.ranks[reached] <= policy.ranks.get(tier, 0):
        return tier, progress, None
    review = review_day_after(policy, reached, day)
    return (
        reached,
        [review, 0, *progress[BUCKETS:]],
        TierChange(tier, reached, THRESHOLD_CROSSED, review),
    )


def reviewed(
    policy: CompiledTierPolicy, tier: str, progress: TierProgress | None, day: int
) -> tuple[str, TierProgress | None, TierChange | None]:
    """The review at the start of local `day`: nothing unless the tier's review day has come
    (so a repeated or late review changes nothing twice). The points counted are those of the
    window that ends with the day before."""
    if progress is None or progress[REVIEW_DAY] == 0 or day < progress[REVIEW_DAY]:
        return tier, progress, None
    buckets = progress[BUCKETS:]
    reached = qualifying(policy, window_points(policy, progress, _month_before(day)))
    rank, reached_rank = policy.ranks.get(tier, 0), policy.ranks[reached]
    if reached_rank >= rank:
        review = review_day_after(policy, reached, day)
        reason = RENEWED if reached == tier else THRESHOLD_CROSSED
        return reached, [review, 0, *buckets], TierChange(tier, reached, reason, review)
    if policy.downgrade == "never":  # the policy changed since the review day was set
        return tier, [0, 0, *buckets], TierChange(tier, tier, RENEWED, 0)
    if policy.downgrade == "grace" and not progress[IN_GRACE]:
        review = day + policy.grace_days
        return tier, [review, 1, *buckets], TierChange(tier, tier, GRACE, review)
    lower = policy.names[rank - 1] if policy.downgrade == "one_tier" else reached
    review = review_day_after(policy, lower, day)
    return lower, [review, 0, *buckets], TierChange(tier, lower, DOWNGRADE_POLICY, review)


def assigned(
    policy: CompiledTierPolicy, previous: str, tier: str, progress: TierProgress | None, day: int
) -> tuple[TierProgress, TierChange]:
    """A tier set by hand on `day` lasts a period as if reached then; then the points decide."""
    review = review_day_after(policy, tier, day)
    buckets = [] if progress is None else progress[BUCKETS:]
    return [review, 0, *buckets], TierChange(previous, tier, MANUAL, review)


def _month_before(day: int) -> int:
    return month_of(date.fromordinal(day - 1))
