"""The settings form's tiers from points: thresholds and the tier policy come in as dotted
fields, a policy left wholly blank is none (tiers set by hand), and what a programme holds is
shown back as the same fields."""

import pytest

from gateway.admin.service.errors import Invalid
from gateway.admin.service.fields import flatten, unflatten
from gateway.admin.service.snapshots import parse_settings
from schemas.programme import TierPolicy

TIERS = [
    ("tiers.0.name", "Bronze"), ("tiers.0.multiplier", "1"), ("tiers.0.threshold_points", "0"),
    ("tiers.1.name", "Gold"), ("tiers.1.multiplier", "2"), ("tiers.1.threshold_points", "500"),
    ("default_tier", "Bronze"),
]  # fmt: skip


def test_a_policy_and_thresholds_from_the_form_and_back() -> None:
    form = [
        *TIERS,
        ("tier_policy.basis", "rolling_months"),
        ("tier_policy.window_months", "12"),
        ("tier_policy.period_months", ""),
        ("tier_policy.downgrade", "grace"),
        ("tier_policy.grace_days", "30"),
    ]
    settings = parse_settings(unflatten(form))
    assert settings.tier_policy == TierPolicy(window_months=12, downgrade="grace", grace_days=30)
    assert [t.threshold_points for t in settings.tiers] == [0, 500]
    shown = flatten(settings.model_dump(mode="json"))
    assert shown["tier_policy.window_months"] == "12"
    assert shown["tiers.1.threshold_points"] == "500"


def test_a_blank_policy_is_none_and_a_half_filled_one_names_its_problem() -> None:
    blank = [("tier_policy.basis", ""), ("tier_policy.downgrade", ""), ("default_tier", "Base")]
    assert parse_settings(unflatten(blank)).tier_policy is None
    with pytest.raises(Invalid) as invalid:
        parse_settings(unflatten([*TIERS, ("tier_policy.downgrade", "grace")]))
    assert "tier_policy" in invalid.value.fields
