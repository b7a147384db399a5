"""Tiers from points: upgrades at the crossing event (the next event earns the new multiplier),
reviews by downgrade policy, manual tiers whose lifetime follows the policy, and the tier as a
pure function of the history and the policy (hypothesis, against a reference model)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from processors.engine import CompiledProgramme, Decision, UserState, decide
from processors.engine.periods import month_of
from processors.engine.tiering import add_months
from schemas.programme import ProgrammeConfig
from tests.unit.engine.fixtures import config_dict, event, programme, rule, run

PURCHASE = {
    "name": "purchase",
    "parameters": [{"name": "amount", "type": "integer", "mandatory": True}],
}
THRESHOLDS = [
    {"name": "Bronze", "multiplier": "1.0", "threshold_points": 0},
    {"name": "Silver", "multiplier": "1.5", "threshold_points": 100},
    {"name": "Gold", "multiplier": "2.0", "threshold_points": 300},
]
START = datetime(2024, 1, 15, 12, tzinfo=UTC)


def _programme(**policy: Any) -> CompiledProgramme:
    return programme(
        [PURCHASE],
        [rule("per_unit", "purchase", points=1, points_type="per_unit", unit_field="amount")],
        tiers=THRESHOLDS,
        tier_policy={"window_months": 12, "period_months": 12, **policy},
    )


def _buy(amount: int, at: datetime = START) -> Any:
    return event("purchase", {"amount": amount}, at=at)


def _review(day: date) -> Any:
    return event(
        "tier.review", at=datetime(day.year, day.month, day.day, tzinfo=UTC), event_id=f"r{day}"
    )


def test_the_crossing_event_earns_at_the_old_tier_and_the_next_at_the_new() -> None:
    decisions = run([_buy(60), _buy(60), _buy(10)], _programme())
    assert [d.points for d in decisions] == [60, 60, 15]  # the second crosses 100 at Bronze
    crossing = decisions[1]
    assert crossing.explanation.tier == "Bronze"
    assert crossing.explanation.tier_change == {
        "from": "Bronze",
        "to": "Silver",
        "reason": "threshold_crossed",
        "review_on": "2025-01-15",
    }
    assert crossing.state.tier == "Silver"
    assert decisions[0].explanation.tier_change is None
    assert "tier_change" not in decisions[0].explanation.to_dict()
    assert decisions[2].explanation.tier == "Silver"


def test_a_tier_change_survives_the_state_encoding() -> None:
    state = run([_buy(400)], _programme())[0].state
    decoded = UserState.from_bytes(state.to_bytes())
    assert decoded == state
    assert decoded.tier == "Gold"
    assert decoded.tiering is not None


def test_a_format_2_state_is_still_read() -> None:
    old = b'[2, "Silver", {}, {}, {}, {}]'
    state = UserState.from_bytes(old)
    assert (state.tier, state.tiering) == ("Silver", None)


def test_a_rolling_window_forgets_old_months() -> None:
    compiled = _programme()
    months = [START + timedelta(days=31 * index) for index in range(14)]
    decisions = run([_buy(8, at) for at in months], compiled)  # one purchase a month
    assert decisions[-1].state.tiering is not None
    assert len(decisions[-1].state.tiering) == 2 + 2 * 12  # twelve monthly buckets at most
    # 14 x 8 = 112 earned, never more than 12 x 8 = 96 inside the window: no upgrade.
    assert all(d.state.tier is None for d in decisions)
    lifetime = _programme(basis="lifetime", window_months=None)
    assert run([_buy(8, at) for at in months], lifetime)[-1].state.tier == "Silver"


@pytest.mark.parametrize(
    ("downgrade", "extra", "expected"),
    [
        ("never", {}, ["Gold", "Gold"]),
        ("period_end", {}, ["Bronze", "Bronze"]),
        ("one_tier", {}, ["Silver", "Bronze"]),
        ("grace", {"grace_days": 30}, ["Gold", "Bronze"]),
    ],
)
def test_downgrade_policies(downgrade: str, extra: dict[str, Any], expected: list[str]) -> None:
    compiled = _programme(downgrade=downgrade, **extra)
    gold = run([_buy(400)], compiled)[0].state
    first, second = date(2025, 1, 15), date(2026, 1, 15)
    if downgrade == "grace":
        second = first + timedelta(days=30)
    after_first = decide(_review(first), gold, compiled)
    after_second = decide(_review(second), after_first.state, compiled)
    tiers = [after_first.state.tier, after_second.state.tier]
    assert tiers == expected
    if downgrade != "never":
        change = after_first.explanation.tier_change
        assert change is not None
        assert change["reason"] == ("grace" if downgrade == "grace" else "downgrade_policy")


def test_a_review_before_the_day_or_repeated_changes_nothing() -> None:
    compiled = _programme()
    gold = run([_buy(400)], compiled)[0].state
    early = decide(_review(date(2025, 1, 14)), gold, compiled)
    assert early.state.tier == "Gold"
    assert early.reason == "tier review: nothing due"
    # Restated, so the ledger's copy that chose the user catches up with the state.
    assert early.explanation.tier_change == {
        "from": "Gold",
        "to": "Gold",
        "reason": "not_due",
        "review_on": "2025-01-15",
    }
    due = decide(_review(date(2025, 1, 15)), early.state, compiled)
    assert due.state.tier == "Bronze"
    again = decide(_review(date(2025, 1, 16)), due.state, compiled)
    assert again.state.tier == "Bronze"
    assert again.explanation.tier_change is not None
    assert again.explanation.tier_change["reason"] == "not_due"
    duplicate = decide(_review(date(2025, 1, 15)), due.state, compiled)
    assert duplicate.status == "duplicate"
    assert duplicate.state.tier == "Bronze"


def test_points_still_there_renew_the_period() -> None:
    compiled = _programme()
    gold = run([_buy(400), _buy(200, START + timedelta(days=330))], compiled)[-1].state
    review = decide(_review(date(2025, 1, 15)), gold, compiled)
    assert review.state.tier == "Gold"
    assert review.explanation.tier_change == {
        "from": "Gold",
        "to": "Gold",
        "reason": "renewed",
        "review_on": "2026-01-15",
    }


def test_a_manual_tier_lasts_its_period_then_the_points_decide() -> None:
    compiled = _programme()
    assigned = decide(event("tier.assigned", {"tier": "Gold"}, at=START), UserState(), compiled)
    assert assigned.explanation.tier_change == {
        "from": "Bronze",
        "to": "Gold",
        "reason": "manual",
        "review_on": "2025-01-15",
    }
    earning = run([_buy(60, START + timedelta(days=200))], compiled, assigned.state)[0]
    assert earning.points == 120  # at Gold's multiplier; 120 earned reach only Silver
    reviewed = decide(_review(date(2025, 1, 15)), earning.state, compiled)
    assert reviewed.state.tier == "Silver"


def test_a_manual_tier_without_a_policy_is_recorded_without_a_review_day() -> None:
    compiled = programme([PURCHASE], [], tiers=[{"name": "Bronze"}, {"name": "Silver"}])
    assigned = decide(event("tier.assigned", {"tier": "Silver"}), UserState(), compiled)
    assert assigned.explanation.tier_change == {
        "from": "Bronze",
        "to": "Silver",
        "reason": "manual",
        "review_on": None,
    }
    review = decide(_review(date(2025, 1, 15)), assigned.state, compiled)
    assert review.state.tier == "Silver"
    assert review.explanation.tier_change is None


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"tier_policy": None}, r"threshold_points \(Bronze\) needs a tier_policy"),
        ({"tiers": [{"name": "Bronze", "threshold_points": 0}, {"name": "Gold"}]}, "missing"),
        (
            {"tiers": [{"name": "Bronze", "threshold_points": 5}]},
            "default tier 'Bronze' needs threshold_points 0",
        ),
        ({"tiers": [*THRESHOLDS, {"name": "Twin", "threshold_points": 100}]}, "same threshold"),
        ({"tier_policy": {"basis": "lifetime", "window_months": 3}}, "window_months"),
        ({"tier_policy": {"window_months": 3, "downgrade": "grace"}}, "grace_days"),
    ],
)
def test_tier_policies_are_validated(changes: dict[str, Any], problem: str) -> None:
    fields: dict[str, Any] = {
        "tiers": THRESHOLDS,
        "tier_policy": {"window_months": 12},
        **changes,
    }
    with pytest.raises(ValidationError, match=problem):
        ProgrammeConfig.model_validate(config_dict([PURCHASE], [], **fields))


def test_tier_review_is_a_reserved_event_type() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        ProgrammeConfig.model_validate(config_dict([{"name": "tier.review"}], []))


# --- a tier is a pure function of the history and the policy -----------------------------------


def _reference(
    history: list[tuple[str, int, int]], downgrade: str, window: int, period: int, grace: int
) -> list[str]:
    """An independent model: the tier after each step, from the whole history each time.
    Steps: ("earn", day, points) or ("review", day, 0); thresholds 0/100/300 with multipliers
    1/1.5/2 applied to what is earned (the rule pays 1 a unit)."""
    names, thresholds, multipliers = ["Bronze", "Silver", "Gold"], [0, 100, 300], [2, 3, 4]
    tier, review, in_grace = 0, 0, False
    earned: list[tuple[int, int]] = []  # (month, points)
    tiers = []

    def reached(month: int) -> int:
        total = sum(p for m, p in earned if month - window < m <= month)
        return max(rank for rank, threshold in enumerate(thresholds) if total >= threshold)

    def review_after(rank: int, day: int) -> int:
        return 0 if rank == 0 or downgrade == "never" else add_months(day, period)

    for kind, day, units in history:
        month = month_of(date.fromordinal(day))
        if kind == "earn":
            earned.append((month, units * multipliers[tier] // 2))
            if reached(month) > tier:
                tier = reached(month)
                review, in_grace = review_after(tier, day), False
        elif review and day >= review:
            now = reached(month_of(date.fromordinal(day - 1)))
            if now >= tier:
                tier, review, in_grace = now, review_after(now, day), False
            elif downgrade == "grace" and not in_grace:
                review, in_grace = day + grace, True
            else:
                tier = tier - 1 if downgrade == "one_tier" else now
                review, in_grace = review_after(tier, day), False
        tiers.append(names[tier])
    return tiers


_STEPS = st.lists(
    st.tuples(st.sampled_from(["earn", "earn", "review"]), st.integers(0, 20), st.integers(1, 120)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    steps=_STEPS,
    downgrade=st.sampled_from(["never", "period_end", "one_tier", "grace"]),
    window=st.integers(1, 6),
    period=st.integers(1, 4),
)
def test_the_tier_is_a_pure_function_of_history_and_policy(
    steps: list[tuple[str, int, int]], downgrade: str, window: int, period: int
) -> None:
    grace = 10
    compiled = programme(
        [PURCHASE],
        [rule("per_unit", "purchase", points=1, points_type="per_unit", unit_field="amount")],
        tiers=THRESHOLDS,
        tier_policy={
            "window_months": window,
            "period_months": period,
            "downgrade": downgrade,
            **({"grace_days": grace} if downgrade == "grace" else {}),
        },
    )
    day = START.date().toordinal()
    history: list[tuple[str, int, int]] = []
    events = []
    for index, (kind, gap_days, units) in enumerate(steps):
        day += gap_days * 3  # time moves forward; several steps may share a day
        at = datetime.combine(date.fromordinal(day), datetime.min.time(), UTC)
        history.append((kind, day, units))
        if kind == "earn":
            events.append(event("purchase", {"amount": units}, at=at + timedelta(hours=12)))
        else:
            events.append(event("tier.review", at=at, event_id=f"review-{index}"))
    expected = _reference(history, downgrade, window, period, grace)
    decided = _tiers(run(events, compiled), compiled)
    assert decided == expected
    # The same history again, from the state stored and read back at every step: the same.
    state, replayed = UserState(), []
    for item in events:
        state = UserState.from_bytes(decide(item, state, compiled).state.to_bytes())
        replayed.append(state.tier or compiled.default_tier)
    assert replayed == expected


def _tiers(decisions: list[Decision], compiled: CompiledProgramme) -> list[str]:
    return [d.state.tier or compiled.default_tier for d in decisions]


def test_a_review_after_the_policy_is_removed_clears_the_review_day() -> None:
    gold = run([_buy(400)], _programme())[0].state
    by_hand = programme([PURCHASE], [], tiers=[{"name": n} for n in ("Bronze", "Silver", "Gold")])
    review = decide(_review(date(2025, 1, 15)), gold, by_hand)
    assert review.state.tier == "Gold"
    assert review.explanation.tier_change == {
        "from": "Gold",
        "to": "Gold",
        "reason": "not_due",
        "review_on": None,
    }
