"""A user's tier as the vendor APIs' user and balance reads show it (Kwegg's balance, MyRewards'
user): the tier, the day it is reviewed (when the downgrade policy may lower it), and, under a
tier policy, the next tier up and the points still needed to reach it.

The tier and its review day are the ledger's record of the processors' decisions
(`ledger.user_tiers`, through `reads.assigned_tier`); the points earned in the policy's window
are read from the journal (`reads.points_earned`: the same awards the processors count, see
`ledger.tier_points` for where the two can differ). The window is the processors' one: the last
`window_months` local calendar months, the current one included, or the whole history. Both
are read through `TierReads` (`gateway.user_ledger` in the process)."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from ledger import reads
from schemas.ledger import day_start
from schemas.programme import ProgrammeConfig


class TierReads(Protocol):
    async def assigned_tier(
        self, programme_id: str, user_id: str
    ) -> reads.TierAssignment | None: ...

    async def points_earned(
        self, programme_id: str, user_id: str, since: datetime | None
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class TierStanding:
    tier: str
    review_on: date | None
    """The programme's local day the tier is reviewed (the downgrade policy applies then);
    None: never (the default tier, a policy that never downgrades, no policy)."""
    points_earned: int | None
    """Points earned in the policy's window; None without a tier policy."""
    next_tier: str | None
    """The next tier up; None at the top, or without a tier policy."""
    points_to_next_tier: int | None
    """What is still to earn (in the window) to reach `next_tier`."""


def window_start(config: ProgrammeConfig, now: datetime) -> datetime | None:
    """The first instant of the policy's window as of `now` (None: the whole history)."""
    policy = config.tier_policy
    if policy is None or policy.window_months is None:
        return None
    zone = ZoneInfo(config.time_zone)
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1 - (policy.window_months - 1)
    return day_start(date(index // 12, index % 12 + 1, 1), zone)


def standing(
    config: ProgrammeConfig, assigned: reads.TierAssignment | None, earned: int | None
) -> TierStanding:
    """Pure: the standing from the recorded tier and the points earned in the window."""
    names = {tier.name for tier in config.tiers}
    tier = config.default_tier
    if assigned is not None and assigned.tier in names:
        tier = assigned.tier
    review_on = None if assigned is None or assigned.tier != tier else assigned.review_on
    if config.tier_policy is None or earned is None:
        return TierStanding(tier, review_on, None, None, None)
    thresholds = {t.name: t.threshold_points or 0 for t in config.tiers}
    higher = sorted(
        (threshold, name) for name, threshold in thresholds.items() if threshold > thresholds[tier]
    )
    if not higher:
        return TierStanding(tier, review_on, earned, None, None)
    threshold, name = higher[0]
    return TierStanding(tier, review_on, earned, name, max(threshold - earned, 0))


async def tier_standing(
    ledger: TierReads, config: ProgrammeConfig, user_id: str, now: datetime
) -> TierStanding:
    """The user's standing in the programme, as of `now`."""
    programme_id = config.programme_id
    assigned = await ledger.assigned_tier(programme_id, user_id)
    earned = None
    if config.tier_policy is not None:
        since = window_start(config, now)
        earned = await ledger.points_earned(programme_id, user_id, since)
    return standing(config, assigned, earned)
