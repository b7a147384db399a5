"""decide(): validation, tiers, partners, priorities, windows, frequency, budgets, API rules,
programmatic rules, redemptions and duplicates."""

from datetime import timedelta
from typing import Any

import pytest

from processors.engine import CompiledProgramme, UserState, decide
from tests.unit.engine.fixtures import NOON, event, points, programme, rule, run

VIDEO = {
    "name": "video",
    "parameters": [
        {"name": "duration", "type": "integer", "mandatory": True},
        {"name": "title", "type": "string"},
        {"name": "hd", "type": "boolean"},
        {"name": "rating", "type": "float"},
    ],
}
PARTNERS = [
    {"partner_id": "p-double", "multiplier": "2", "allowed_event_types": ["video"]},
    {"partner_id": "p-none", "allowed_event_types": []},
]


def _video_programme(*rules: dict[str, Any], **fields: Any) -> CompiledProgramme:
    return programme([VIDEO], rules, partners=PARTNERS, **fields)


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ({}, "mandatory parameter 'duration' is missing"),
        ({"duration": "10"}, "parameter 'duration' must be integer, got str '10'"),
        ({"duration": True}, "parameter 'duration' must be integer, got bool True"),
        ({"duration": 10, "hd": "yes"}, "parameter 'hd' must be boolean, got str 'yes'"),
        ({"duration": 10, "rating": "x"}, "parameter 'rating' must be float, got str 'x'"),
    ],
)
def test_bad_parameters_are_accepted_with_zero_points_and_the_reason(
    metadata: dict[str, Any], reason: str
) -> None:
    compiled = _video_programme(rule("r", "video", default=True))
    decision = decide(event("video", metadata), UserState.initial(), compiled)
    assert (decision.status, decision.points, decision.reason) == ("invalid_event", 0, reason)
    assert next(iter(decision.state.applied)) == decision.event_id  # logged, so a retry is known


def test_optional_parameters_may_be_absent_and_floats_accept_integers() -> None:
    compiled = _video_programme(rule("r", "video", default=True))
    decision = decide(event("video", {"duration": 3, "rating": 4}), UserState.initial(), compiled)
    assert decision.points == 10


def test_partner_multiplier_and_partner_permissions() -> None:
    compiled = _video_programme(rule("r", "video", default=True))
    state = UserState.initial()
    assert (
        decide(event("video", {"duration": 1}, partner_id="p-double"), state, compiled).points == 20
    )
    refused = decide(event("video", {"duration": 1}, partner_id="p-none"), state, compiled)
    assert (refused.status, refused.reason) == (
        "invalid_event",
        "partner 'p-none' may not publish 'video'",
    )
    unknown = decide(event("video", {"duration": 1}, partner_id="ghost"), state, compiled)
    assert unknown.reason == "unknown partner 'ghost'"


def test_tier_assignment_sets_the_multiplier_and_rejects_unknown_tiers() -> None:
    compiled = _video_programme(rule("r", "video", default=True, points="3.5"))
    decisions = run(
        [
            event("tier.assigned", {"tier": "Gold"}),
            event("video", {"duration": 1}),
            event("tier.assigned", {"tier": "Platinum"}),
            event("video", {"duration": 1}),
        ],
        compiled,
    )
    assert points(decisions) == [0, 7, 0, 7]
    assert decisions[0].state.tier == "Gold"
    assert decisions[2].status == "invalid_event"
    assert "unknown tier 'Platinum'" in (decisions[2].reason or "")


@pytest.mark.parametrize(
    ("rounding", "expected"), [("floor", 5), ("ceil", 6), ("round_half_up", 6)]
)
def test_rounding_policy_turns_fractions_into_whole_points(rounding: str, expected: int) -> None:
    compiled = _video_programme(rule("r", "video", default=True, points="3.7"), rounding=rounding)
    state = decide(event("tier.assigned", {"tier": "Silver"}), UserState.initial(), compiled).state
    assert decide(event("video", {"duration": 1}), state, compiled).points == expected  # 5.55


def test_first_matching_rule_in_priority_order_wins_and_all_tries_are_explained() -> None:
    compiled = _video_programme(
        rule("late", "video", priority=5, points=1),
        rule(
            "long",
            "video",
            priority=1,
            points=100,
            conditions=[{"parameter": "duration", "operator": "greater_than", "value": 60}],
        ),
        rule(
            "hd",
            "video",
            priority=2,
            points=50,
            conditions=[{"parameter": "hd", "operator": "equal_to", "value": True}],
        ),
    )
    decision = decide(event("video", {"duration": 10, "hd": True}), UserState.initial(), compiled)
    assert decision.points == 50
    explained = decision.explanation.to_dict()["rules"]
    assert [(r["rule_id"], r["outcome"]) for r in explained] == [
        ("long", "condition_failed"),
        ("hd", "awarded"),
    ]
    assert explained[0]["detail"] == "condition 1 failed: duration greater_than 60 (got 10)"


def test_rules_outside_their_window_or_not_active_are_skipped() -> None:
    compiled = _video_programme(
        rule("future", "video", priority=1, points=100, valid_from=NOON + timedelta(hours=1)),
        rule("past", "video", priority=2, points=200, valid_until=NOON),
        rule("draft", "video", priority=3, points=300, status="draft"),
        rule("fallback", "video", default=True, points=7),
    )
    decision = decide(event("video", {"duration": 1}), UserState.initial(), compiled)
    assert decision.points == 7
    outcomes = [(t.rule_id, t.outcome) for t in decision.explanation.rules]
    assert outcomes == [
        ("future", "outside_window"),
        ("past", "outside_window"),
        ("fallback", "awarded"),
    ]


def test_a_frequency_limited_rule_does_not_fall_through_to_the_default() -> None:
    compiled = _video_programme(
        rule("hourly", "video", priority=1, frequency={"every": 1, "unit": "hours"}),
        rule("fallback", "video", default=True, points=1),
    )
    times = [NOON, NOON + timedelta(minutes=59), NOON + timedelta(minutes=60)]
    decisions = run([event("video", {"duration": 1}, at=at) for at in times], compiled)
    assert points(decisions) == [10, 0, 10]
    assert decisions[1].explanation.rules[0].detail == (
        "frequency once per 60 minutes: limited until 2024-03-10T13:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("frequency", "gaps_days", "expected"),
    [
        # Sunday 10 March ends an ISO week; Monday 11 starts the next, which Saturday 16 ends.
        ("weekly", [0, 1, 6], [10, 10, 0]),
        ("monthly", [0, 21, 22], [10, 0, 10]),  # 10 March, 31 March, 1 April
        ("unlimited", [0, 0, 0], [10, 10, 10]),
    ],
)
def test_calendar_frequencies(frequency: str, gaps_days: list[int], expected: list[int]) -> None:
    compiled = _video_programme(rule("r", "video", default=True, frequency=frequency))
    decisions = run(
        [event("video", {"duration": 1}, at=NOON + timedelta(days=d)) for d in gaps_days], compiled
    )
    assert points(decisions) == expected


def test_rule_budget_is_an_input_and_consumption_is_reported() -> None:
    compiled = _video_programme(rule("r", "video", default=True, points=30, budget_max=100))
    first = decide(
        event("video", {"duration": 1}), UserState.initial(), compiled, budget_used={"r": 50}
    )
    assert (first.points, dict(first.budget_consumed)) == (30, {"r": 30})
    second = decide(event("video", {"duration": 1}), first.state, compiled, budget_used={"r": 80})
    assert (second.points, dict(second.budget_consumed)) == (20, {"r": 20})
    assert "budget_max 100 cut 30 -> 20" in second.explanation.rules[0].detail
    spent = decide(event("video", {"duration": 1}), second.state, compiled, budget_used={"r": 100})
    assert (spent.points, spent.status) == (0, "no_points")


API_RULES = [
    rule(
        "bonus",
        "video",
        trigger="api",
        authorised_clients=["app"],
        points=25,
        valid_until=NOON + timedelta(days=1),
    ),
    rule("voucher", "video", trigger="api", kind="redeem", authorised_clients=["app"], points=500),
    rule("paused", "video", trigger="api", authorised_clients=["app"], status="draft"),
    rule("everyday", "video", default=True, points=1),
]


@pytest.mark.parametrize(
    ("fields", "expected_points", "reason"),
    [
        ({"rule_id": "bonus", "client_id": "app"}, 25, None),
        ({"rule_id": "voucher", "client_id": "app"}, -500, None),
        ({"rule_id": "bonus", "client_id": "intruder"}, 0, "client 'intruder' is not authorised"),
        ({"rule_id": "paused", "client_id": "app"}, 0, "rule 'paused' is draft, not active"),
        ({"rule_id": "everyday", "client_id": "app"}, 0, "rule 'everyday' is not API-triggered"),
        ({"rule_id": "ghost", "client_id": "app"}, 0, "rule 'ghost' does not exist"),
        ({"rule_id": "bonus", "client_id": "app", "at": NOON + timedelta(days=2)}, 0, "ended at"),
    ],
)
def test_api_triggered_rules(
    fields: dict[str, Any], expected_points: int, reason: str | None
) -> None:
    compiled = _video_programme(*API_RULES, api_clients=[{"client_id": "app"}])
    decision = decide(event("video", {"duration": 1}, **fields), UserState.initial(), compiled)
    assert decision.points == expected_points
    if reason is None:
        assert decision.status == "awarded"
        assert len(decision.awards) == 1
    else:
        assert reason in (decision.reason or "")


def test_redemption_is_a_debit_award_without_multipliers() -> None:
    compiled = _video_programme(*API_RULES, api_clients=[{"client_id": "app"}])
    gold = decide(event("tier.assigned", {"tier": "Gold"}), UserState.initial(), compiled).state
    decision = decide(
        event("video", {"duration": 1}, rule_id="voucher", client_id="app"), gold, compiled
    )
    assert decision.points == -500
    assert (decision.awards[0].kind, decision.awards[0].points) == ("redeem", 500)


def test_programmatic_rule_asks_for_the_amount_then_uses_it() -> None:
    external = {"url": "https://tenant.example/points", "headers": {"X-Key": "k"}, "body": {"a": 1}}
    compiled = _video_programme(
        rule("ext", "video", default=True, points_type="external", external=external)
    )
    state = UserState.initial()
    video = event("video", {"duration": 1})
    asking = decide(video, state, compiled)
    assert (asking.status, asking.points, asking.state) == ("needs_external_points", 0, state)
    call = asking.external_calls[0]
    assert (call.rule_id, call.url, call.method, dict(call.body)) == (
        "ext",
        external["url"],
        "POST",
        {"a": 1},
    )
    final = decide(video, state, compiled, {"ext": 42})
    assert (final.status, final.points) == ("awarded", 42)
    assert decide(video, state, compiled, {"ext": 42}) == final
    refused = decide(video, state, compiled, {"ext": -3})
    assert (refused.points, refused.explanation.rules[0].outcome) == (0, "invalid_amount")


def test_reapplying_an_event_returns_the_original_decision_and_changes_nothing() -> None:
    compiled = _video_programme(rule("r", "video", default=True, budget_max=1000))
    video = event("video", {"duration": 1})
    first = decide(video, UserState.initial(), compiled)
    again = decide(video, first.state, compiled)
    assert again.status == "duplicate"
    assert (again.points, again.awards) == (first.points, first.awards)
    assert again.state is first.state
    assert dict(again.budget_consumed) == {}
    explained = again.explanation.to_dict()
    assert explained["status"] == "duplicate"
    assert explained["reason"] == (
        f"duplicate of event '{video.event_id}', already applied: awarded, 10 points; "
        "earn 10 by rule r v1"
    )
    assert [(t["rule_id"], t["outcome"], t["points"]) for t in explained["rules"]] == [
        ("r", "awarded", 10)
    ]
    decoded = decide(video, UserState.from_bytes(first.state.to_bytes()), compiled)
    assert (decoded.status, decoded.points, decoded.awards) == ("duplicate", 10, first.awards)
    assert decoded.explanation == again.explanation


def test_a_duplicate_of_an_event_without_points_repeats_its_status_and_reason() -> None:
    compiled = _video_programme(rule("r", "video", default=True, frequency="once"))
    first = decide(event("video", {"duration": 1}), UserState.initial(), compiled)
    second = event("video", {"duration": 1})
    refused = decide(second, first.state, compiled)
    assert refused.status == "no_points"
    for state in (refused.state, UserState.from_bytes(refused.state.to_bytes())):
        again = decide(second, state, compiled)
        assert (again.status, again.points, again.awards) == ("duplicate", 0, ())
        assert again.reason == (
            f"duplicate of event '{second.event_id}', already applied: no_points, 0 points; "
            f"{refused.reason}"
        )


def test_wrong_programme_is_invalid() -> None:
    compiled = _video_programme(rule("r", "video", default=True))
    decision = decide(
        event("video", {"duration": 1}, programme_id="other"), UserState.initial(), compiled
    )
    assert decision.status == "invalid_event"


def test_decide_accepts_a_raw_config() -> None:
    from schemas.programme import ProgrammeConfig
    from tests.unit.engine.fixtures import config_dict

    config = ProgrammeConfig.model_validate(
        config_dict([VIDEO], [rule("r", "video", default=True)])
    )
    assert decide(event("video", {"duration": 1}), UserState.initial(), config).points == 10


def test_two_decisions_from_one_state_do_not_see_each_other() -> None:
    compiled = programme([{"name": "video"}], [rule("r", "video", default=True)])
    first = run([event("video", event_id=f"evt_{n}") for n in range(40)], compiled)[-1].state
    left = decide(event("video", event_id="left"), first, compiled)
    right = decide(event("video", event_id="right"), first, compiled)
    assert "left" in left.state.applied
    assert "left" not in right.state.applied
    assert "right" not in left.state.applied
    assert "left" not in first.applied
    assert decide(event("video", event_id="left"), right.state, compiled).status != "duplicate"
    assert decide(event("video", event_id="left"), left.state, compiled).status == "duplicate"
    assert list(left.state.applied)[:-1] == list(right.state.applied)[:-1]
    assert left.state.caps == right.state.caps != first.caps
