"""A user's tier as the Kwegg and MyRewards reads show it: the recorded tier (or the default),
its review day, and under a tier policy the next tier and the points still needed, counted over
the policy's window of local months."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gateway.tier_standing import TierStanding, standing, window_start
from ledger.reads import TierAssignment
from schemas.programme import ProgrammeConfig

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def programme(policy: dict[str, object] | None = None, zone: str = "UTC") -> ProgrammeConfig:
    tiers: list[dict[str, object]] = [{"name": "Bronze"}, {"name": "Silver"}, {"name": "Gold"}]
    if policy is not None:
        for tier, threshold in zip(tiers, (0, 100, 1000), strict=True):
            tier["threshold_points"] = threshold
    return ProgrammeConfig.model_validate(
        {
            "programme_id": "p",
            "version": 1,
            "time_zone": zone,
            "tiers": tiers,
            "default_tier": "Bronze",
            "tier_policy": policy,
        }
    )


ROLLING = {"basis": "rolling_months", "window_months": 12, "period_months": 12,
           "downgrade": "period_end"}  # fmt: skip


def test_the_window_starts_at_the_local_first_of_the_month_window_months_back() -> None:
    # 2026-03-31 23:30 UTC is already April in Tokyo: the window is May 2025 to April 2026.
    now = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    start = window_start(programme(ROLLING, "Asia/Tokyo"), now)
    assert start == datetime(2025, 5, 1, tzinfo=ZoneInfo("Asia/Tokyo"))
    one_month = dict(ROLLING, window_months=1)
    assert window_start(programme(one_month), now) == datetime(2026, 3, 1, tzinfo=UTC)
    lifetime = {"basis": "lifetime", "period_months": 12, "downgrade": "never"}
    assert window_start(programme(lifetime), now) is None
    assert window_start(programme(None), now) is None


def test_a_user_never_changed_is_in_the_default_tier_with_the_first_threshold_ahead() -> None:
    assert standing(programme(ROLLING), None, 30) == TierStanding("Bronze", None, 30, "Silver", 70)


def test_a_recorded_tier_shows_its_review_day_and_the_next_tier() -> None:
    silver = TierAssignment("Silver", "evt_1", AT, "threshold_crossed", date(2027, 3, 1))
    assert standing(programme(ROLLING), silver, 110) == TierStanding(
        "Silver", date(2027, 3, 1), 110, "Gold", 890
    )
    gold = TierAssignment("Gold", "evt_2", AT, "manual", date(2027, 3, 1))
    assert standing(programme(ROLLING), gold, 5) == TierStanding(
        "Gold", date(2027, 3, 1), 5, None, None
    )
    # Set by hand below what the points reach: nothing more to earn for the next one.
    bronze = TierAssignment("Bronze", "evt_3", AT, "manual", None)
    assert standing(programme(ROLLING), bronze, 150).points_to_next_tier == 0


def test_without_a_policy_only_the_tier_and_a_tier_the_programme_lost_is_the_default() -> None:
    silver = TierAssignment("Silver", "evt_1", AT)
    assert standing(programme(None), silver, None) == TierStanding("Silver", None, None, None, None)
    platinum = TierAssignment("Platinum", "evt_1", AT, "manual", date(2027, 1, 1))
    assert standing(programme(ROLLING), platinum, 0) == TierStanding(
        "Bronze", None, 0, "Silver", 100
    )
