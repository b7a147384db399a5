"""Property tests over generated event sequences: caps and frequency limits hold, earn decisions
are never negative, re-applying changes nothing, replays are identical."""

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.engine import UserState, decide
from schemas.events import EventV1
from tests.unit.engine.fixtures import programme, rule

ZONES = ["UTC", "Africa/Accra", "America/New_York", "Asia/Kathmandu", "Pacific/Auckland"]
SHOP = {
    "name": "shop",
    "parameters": [
        {"name": "amount", "type": "float", "mandatory": True},
        {"name": "kind", "type": "string"},
    ],
}
RULES = [
    rule(
        "big",
        "shop",
        priority=1,
        points="1.5",
        points_type="per_unit",
        unit_field="amount",
        daily_cap=300,
        monthly_cap=2000,
        conditions=[{"parameter": "amount", "operator": "greater_than", "value": 50}],
    ),
    rule(
        "hourly",
        "shop",
        priority=2,
        points=40,
        frequency={"every": 90, "unit": "minutes"},
        conditions=[{"parameter": "kind", "operator": "equal_to", "value": "app"}],
    ),
    rule("daily", "shop", default=True, points=25, frequency="daily", daily_cap=60),
    rule("streak", "shop", points=500, streak={"type": "daily", "events_per_day": 2, "days": 2}),
]
START = datetime(2024, 1, 28, tzinfo=UTC)  # near a month end; 2024 is a leap year

offsets = st.lists(st.integers(min_value=0, max_value=40 * 24 * 60), min_size=1, max_size=40)
metadata = st.fixed_dictionaries(
    {
        "amount": st.floats(min_value=0, max_value=400, allow_nan=False).map(lambda x: round(x, 2)),
        "kind": st.sampled_from(["app", "web"]),
    }
)
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _events(minutes: list[int], metas: list[dict[str, Any]]) -> list[EventV1]:
    return [
        EventV1(
            event_id=f"e{i}",
            programme_id="test",
            user_id="u",
            event_type="shop",
            occurred_at=START + timedelta(minutes=m),
            metadata=metas[i % len(metas)],
        )
        for i, m in enumerate(sorted(minutes))
    ]


def _replay(events: list[EventV1], zone: str) -> list[Any]:
    compiled = programme([SHOP], RULES, time_zone=zone)
    state, decisions = UserState.initial(), []
    for item in events:
        decision = decide(item, state, compiled)
        decisions.append(decision)
        state = decision.state
    return decisions


@PROPERTY_SETTINGS
@given(offsets, st.lists(metadata, min_size=1, max_size=5), st.sampled_from(ZONES))
def test_caps_and_frequencies_are_never_exceeded(
    minutes: list[int], metas: list[dict[str, Any]], zone: str
) -> None:
    events = _events(minutes, metas)
    decisions = _replay(events, zone)
    local = ZoneInfo(zone)
    per_day: dict[date, int] = defaultdict(int)
    per_month: dict[tuple[int, int], int] = defaultdict(int)
    paid_at: dict[str, list[datetime]] = defaultdict(list)
    for item, decision in zip(events, decisions, strict=True):
        assert decision.points >= 0
        day = item.occurred_at.astimezone(local).date()
        for award in decision.awards:
            assert award.points > 0
            per_day[day] += award.points
            per_month[(day.year, day.month)] += award.points
            paid_at[award.rule_id].append(item.occurred_at)
    # Every rule's caps bound the whole event type; the loosest rule's caps are the bound.
    assert all(total <= 300 + 60 + 40 * 16 + 500 for total in per_day.values())
    daily_days = [at.astimezone(local).date() for at in paid_at["daily"]]
    assert len(daily_days) == len(set(daily_days))
    hourly = paid_at["hourly"]
    assert all(b - a >= timedelta(minutes=90) for a, b in itertools.pairwise(hourly))


@PROPERTY_SETTINGS
@given(offsets, st.lists(metadata, min_size=1, max_size=5), st.sampled_from(ZONES))
def test_replay_is_identical_and_reapplying_changes_nothing(
    minutes: list[int], metas: list[dict[str, Any]], zone: str
) -> None:
    events = _events(minutes, metas)
    first, second = _replay(events, zone), _replay(events, zone)
    assert first == second
    compiled = programme([SHOP], RULES, time_zone=zone)
    for item, decision in zip(events, first, strict=True):
        again = decide(item, decision.state, compiled)
        assert again.state is decision.state
        assert (again.status, again.points, again.awards) == (
            "duplicate",
            decision.points,
            decision.awards,
        )
    decoded = UserState.from_bytes(first[-1].state.to_bytes())
    assert decoded.to_bytes() == first[-1].state.to_bytes()


@PROPERTY_SETTINGS
@given(offsets, st.sampled_from(ZONES))
def test_daily_cap_per_local_day_holds_for_capped_rules_alone(
    minutes: list[int], zone: str
) -> None:
    compiled = programme(
        [SHOP],
        [rule("capped", "shop", default=True, points=7, daily_cap=20, monthly_cap=50)],
        time_zone=zone,
    )
    events = _events(minutes, [{"amount": 1.0}])
    state, local = UserState.initial(), ZoneInfo(zone)
    per_day: dict[date, int] = defaultdict(int)
    per_month: dict[tuple[int, int], int] = defaultdict(int)
    for item in events:
        decision = decide(item, state, compiled)
        state = decision.state
        day = item.occurred_at.astimezone(local).date()
        per_day[day] += decision.points
        per_month[(day.year, day.month)] += decision.points
    assert max(per_day.values()) <= 20
    assert max(per_month.values()) <= 50
