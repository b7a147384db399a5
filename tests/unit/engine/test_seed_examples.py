"""Every worked example of the seeds (mgPass partner guide, Kwegg API docs)."""

from datetime import timedelta
from typing import Any

import pytest

from processors.engine import UserState, compile_programme, decide
from schemas.events import EventV1
from tests.unit.engine.fixtures import NOON, demo_config, event, points, programme, rule, run

WATCHED_VIDEO = {
    "name": "WATCHED_VIDEO",
    "parameters": [
        {"name": "duration", "type": "integer"},
        {"name": "type", "type": "string"},
    ],
}


def _silver() -> UserState:
    compiled = compile_programme(demo_config())
    tier_event = event("tier.assigned", {"tier": "Silver"}, programme_id="demo")
    return decide(tier_event, UserState.initial(), compiled).state


def test_silver_purchase_of_100_ghs_earns_150_points() -> None:
    compiled = compile_programme(demo_config())
    purchase = event(
        "purchase",
        {"reference_id": "order_789", "amount": 100, "currency": "GHS"},
        programme_id="demo",
        partner_id="mgpass-demo",
    )
    decision = decide(purchase, _silver(), compiled)
    assert decision.points == 150
    assert decision.status == "awarded"
    assert "tier Silver 1.5" in decision.explanation.rules[0].detail


@pytest.mark.parametrize(
    ("duration", "expected_points", "rule_id"),
    [(10, 100, "ten"), (20, 200, "twenty"), (21, 500, "over-twenty"), (5, 50, "default")],
)
def test_kwegg_watched_video_single_statement_rules(
    duration: int, expected_points: int, rule_id: str
) -> None:
    compiled = programme(
        [WATCHED_VIDEO],
        [
            rule(
                "ten",
                "WATCHED_VIDEO",
                priority=1,
                points=100,
                conditions=[{"parameter": "duration", "operator": "equal_to", "value": 10}],
            ),
            rule(
                "twenty",
                "WATCHED_VIDEO",
                priority=2,
                points=200,
                conditions=[{"parameter": "duration", "operator": "equal_to", "value": 20}],
            ),
            rule(
                "over-twenty",
                "WATCHED_VIDEO",
                priority=3,
                points=500,
                conditions=[{"parameter": "duration", "operator": "greater_than", "value": 20}],
            ),
            rule("default", "WATCHED_VIDEO", default=True, points=50),
        ],
    )
    decision = decide(event("WATCHED_VIDEO", {"duration": duration}), UserState.initial(), compiled)
    assert decision.points == expected_points
    assert decision.awards[0].rule_id == rule_id


@pytest.mark.parametrize(
    ("metadata", "expected_points"),
    [
        ({"type": "PRANK", "duration": 30}, 100),
        ({"type": "RECIPE", "duration": 5}, 200),
        ({"type": "RECIPE", "duration": 15}, 500),
        ({"type": "NEWS", "duration": 5}, 50),
        ({}, 50),
    ],
)
def test_kwegg_prank_recipe_multiple_statement_rules(
    metadata: dict[str, object], expected_points: int
) -> None:
    compiled = programme(
        [WATCHED_VIDEO],
        [
            rule(
                "prank",
                "WATCHED_VIDEO",
                priority=1,
                points=100,
                conditions=[{"parameter": "type", "operator": "equal_to", "value": "PRANK"}],
            ),
            rule(
                "short-recipe",
                "WATCHED_VIDEO",
                priority=2,
                points=200,
                conditions=[
                    {"parameter": "type", "operator": "equal_to", "value": "RECIPE"},
                    {"parameter": "duration", "operator": "less_than", "value": 10},
                ],
            ),
            rule(
                "recipe",
                "WATCHED_VIDEO",
                priority=3,
                points=500,
                conditions=[{"parameter": "type", "operator": "equal_to", "value": "RECIPE"}],
            ),
            rule("default", "WATCHED_VIDEO", priority=4, default=True, points=50),
        ],
    )
    decision = decide(event("WATCHED_VIDEO", metadata), UserState.initial(), compiled)
    assert decision.points == expected_points


def _demo(event_type: str, metadata: dict[str, Any] | None = None, **fields: Any) -> EventV1:
    return event(event_type, metadata, programme_id="demo", partner_id="mgpass-demo", **fields)


@pytest.mark.parametrize(
    ("event_type", "metadata", "each"),
    [
        ("video_watched", {"video_id": "v1"}, 10),
        ("share", {"channel": "whatsapp"}, 10),
        ("purchase", {"amount": 3}, 3),
    ],
)
def test_mgpass_unlimited_event_types_pay_every_time(
    event_type: str, metadata: dict[str, object], each: int
) -> None:
    decisions = run(
        [_demo(event_type, metadata) for _ in range(3)], compile_programme(demo_config())
    )
    assert points(decisions) == [each] * 3


@pytest.mark.parametrize(("event_type", "amount"), [("signup", 50), ("referral", 100)])
def test_mgpass_one_time_event_types_pay_once(event_type: str, amount: int) -> None:
    later = NOON + timedelta(days=40)
    decisions = run(
        [_demo(event_type), _demo(event_type), _demo(event_type, at=later)],
        compile_programme(demo_config()),
    )
    assert points(decisions) == [amount, 0, 0]
    assert decisions[1].explanation.rules[0].outcome == "frequency_limited"


def test_mgpass_daily_login_pays_once_per_local_day() -> None:
    # Africa/Accra is UTC+0: 23:59 and 00:01 UTC are two different local days.
    late = NOON.replace(hour=23, minute=59)
    decisions = run(
        [
            _demo("daily_login"),
            _demo("daily_login", at=late),
            _demo("daily_login", at=late + timedelta(minutes=2)),
        ],
        compile_programme(demo_config()),
    )
    assert points(decisions) == [5, 0, 5]
    assert "limited until 2024-03-11T00:00:00+00:00" in decisions[1].explanation.rules[0].detail


def test_mgpass_article_read_5_per_read_capped_at_50_a_day() -> None:
    reads = [_demo("article_read", {"article_id": f"a{i}"}) for i in range(12)]
    next_day = _demo("article_read", at=NOON + timedelta(days=1))
    decisions = run([*reads, next_day], compile_programme(demo_config()))
    assert points(decisions) == [5] * 10 + [0, 0, 5]
    assert decisions[10].status == "no_points"
    assert "daily_cap 50 cut 5 -> 0" in decisions[10].explanation.rules[0].detail


def test_cap_reduces_an_award_that_would_cross_it() -> None:
    compiled = programme(
        [
            {
                "name": "purchase",
                "parameters": [{"name": "amount", "type": "float", "mandatory": True}],
            }
        ],
        [
            rule(
                "spend",
                "purchase",
                points=1,
                points_type="per_unit",
                unit_field="amount",
                default=True,
                daily_cap=100,
                monthly_cap=130,
            )
        ],
    )
    day2 = NOON + timedelta(days=1)
    decisions = run(
        [
            event("purchase", {"amount": 80}),
            event("purchase", {"amount": 50}),
            event("purchase", {"amount": 50}, at=day2),
        ],
        compiled,
    )
    assert points(decisions) == [80, 20, 30]
    assert "monthly_cap 130 cut 50 -> 30" in decisions[2].explanation.rules[0].detail


def test_event_with_no_matching_rule_is_accepted_with_zero_points() -> None:
    compiled = compile_programme(demo_config())
    decision = decide(event("unknown_action", programme_id="demo"), UserState.initial(), compiled)
    assert (decision.status, decision.points) == ("no_points", 0)
    assert decision.reason == "no rule for event type 'unknown_action'"
