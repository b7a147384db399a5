"""Reason codes: every decision that earns nothing, or less than its rule's amount, says why
with a stable code (`schemas.reasons.ReasonCode`) and in words."""

from datetime import timedelta
from typing import Any

import pytest

from processors.engine import Decision, UserState, decide
from schemas.reasons import ReasonCode
from tests.unit.engine.fixtures import NOON, event, programme, rule, run

VIDEO = {
    "name": "video",
    "parameters": [{"name": "duration", "type": "integer", "mandatory": True}],
}
PARTNERS = [{"partner_id": "p", "allowed_event_types": ["video"]}]


def _decided(*rules: dict[str, Any], times: int = 1, **options: Any) -> list[Decision]:
    compiled = programme([VIDEO, {"name": "share"}], rules, partners=PARTNERS)
    items = [event("video", {"duration": 10}, at=NOON + timedelta(minutes=i)) for i in range(times)]
    return run(items, compiled, **options)


def _code_and_reason(decision: Decision) -> tuple[str | None, str | None]:
    explained = decision.explanation.to_dict()
    assert explained["reason_code"] == decision.explanation.reason_code
    return explained["reason_code"], explained["reason"]


def test_a_full_award_has_no_reason() -> None:
    (decision,) = _decided(rule("r", "video", default=True, points=5))
    assert (decision.points, *_code_and_reason(decision)) == (5, None, None)


def test_an_event_type_without_rules() -> None:
    compiled = programme([VIDEO, {"name": "share"}], [rule("r", "video", default=True)])
    decision = decide(event("share"), UserState.initial(), compiled)
    assert _code_and_reason(decision) == ("no_rule", "no rule for event type 'share'")


def test_conditions_not_met_and_outside_window() -> None:
    condition = [{"parameter": "duration", "operator": "greater_than", "value": 60}]
    (unmet,) = _decided(rule("long", "video", conditions=condition))
    assert _code_and_reason(unmet) == (
        "conditions_not_met",
        "condition 1 failed: duration greater_than 60 (got 10)",
    )
    (ended,) = _decided(rule("old", "video", default=True, valid_until=NOON - timedelta(days=1)))
    assert _code_and_reason(ended)[0] == "outside_window"


def test_a_daily_cap_that_cuts_an_award_says_so_on_the_award() -> None:
    first, second, third = _decided(
        rule("r", "video", default=True, points=8, daily_cap=20), times=3
    )
    assert (first.points, second.points, third.points) == (8, 8, 4)
    assert _code_and_reason(third) == ("daily_cap", "rule 'r': daily cap 20: cut from 8 to 4")
    assert _code_and_reason(second) == (None, None)


def test_a_monthly_cap_that_leaves_nothing() -> None:
    *_, last = _decided(rule("r", "video", default=True, points=10, monthly_cap=10), times=2)
    assert (last.points, *_code_and_reason(last)) == (
        0,
        "monthly_cap",
        "rule 'r': monthly cap 10: cut from 10 to 0",
    )


def test_frequency_budget_and_parameters() -> None:
    *_, limited = _decided(rule("r", "video", default=True, frequency="daily"), times=2)
    assert _code_and_reason(limited)[0] == "frequency"
    (budget,) = _decided(rule("r", "video", default=True, budget_max=5), budget_used={"r": 5})
    assert _code_and_reason(budget) == ("budget", "rule 'r': rule budget 5: cut from 10 to 0")
    compiled = programme([VIDEO], [rule("r", "video", default=True)])
    invalid = decide(event("video"), UserState.initial(), compiled)
    assert _code_and_reason(invalid) == (
        "invalid_parameters",
        "mandatory parameter 'duration' is missing",
    )


def test_partners_tiers_and_duplicates() -> None:
    compiled = programme([VIDEO, {"name": "share"}], [rule("r", "video", default=True)],
                         partners=PARTNERS)  # fmt: skip
    refused = decide(event("share", partner_id="p"), UserState.initial(), compiled)
    assert _code_and_reason(refused)[0] == "event_type_not_allowed"
    unknown = decide(event("share", partner_id="q"), UserState.initial(), compiled)
    assert _code_and_reason(unknown)[0] == "unknown_partner"
    tier = decide(event("tier.assigned", {"tier": "Gold"}), UserState.initial(), compiled)
    assert _code_and_reason(tier) == ("tier_assigned", "tier set to 'Gold'")
    video = event("video", {"duration": 1})
    first = decide(video, UserState.initial(), compiled)
    assert _code_and_reason(decide(video, first.state, compiled))[0] == "duplicate"


@pytest.mark.parametrize("frequency", ["once", "daily", "unlimited"])
def test_every_code_the_engine_gives_is_a_published_code(frequency: str) -> None:
    decisions = _decided(
        rule("r", "video", default=True, points=7, daily_cap=10, frequency=frequency), times=3
    )
    for decision in decisions:
        code = decision.explanation.reason_code
        assert code is None or code in set(ReasonCode)
        for trace in decision.explanation.rules:
            assert trace.reason_code is None or trace.reason_code in set(ReasonCode)
