"""Streaks ("x events a day for y consecutive days", "x events before a timestamp") and hybrid
rewards (a condition plus a streak)."""

from datetime import timedelta

from schemas.events import EventV1
from tests.unit.engine.fixtures import NOON, event, points, programme, rule, run

APP_OPEN = {"name": "app_open"}
WATCH = {"name": "watch", "parameters": [{"name": "minutes", "type": "integer"}]}
TWICE_A_DAY_FOR_3_DAYS = rule(
    "streak",
    "app_open",
    points=100,
    streak={"type": "daily", "events_per_day": 2, "days": 3},
)


def _days(*per_day: int) -> list[EventV1]:
    return [
        event("app_open", at=NOON + timedelta(days=d, minutes=i))
        for d, count in enumerate(per_day)
        for i in range(count)
    ]


def test_daily_streak_pays_once_at_the_completing_event() -> None:
    decisions = run(_days(2, 2, 3), programme([APP_OPEN], [TWICE_A_DAY_FOR_3_DAYS]))
    assert points(decisions) == [0, 0, 0, 0, 0, 100, 0]
    assert decisions[5].explanation.rules[0].detail.startswith("streak complete")
    assert decisions[6].explanation.rules[0].outcome == "not_counted"


def test_a_short_day_or_a_missed_day_resets_the_streak() -> None:
    compiled = programme([APP_OPEN], [TWICE_A_DAY_FOR_3_DAYS])
    short_day = run(_days(2, 1, 2, 2, 2), compiled)
    assert points(short_day) == [0] * 8 + [100]  # the run restarts on day 2 (0-based)
    missed = [
        event("app_open", at=NOON + timedelta(days=d, minutes=i))
        for d in (0, 1, 3, 4)
        for i in range(2)
    ]
    assert sum(points(run(missed, compiled))) == 0


def test_the_streak_runs_alongside_the_ordinary_rule() -> None:
    compiled = programme(
        [APP_OPEN], [TWICE_A_DAY_FOR_3_DAYS, rule("open", "app_open", default=True, points=1)]
    )
    decisions = run(_days(2, 2, 2), compiled)
    assert points(decisions) == [1, 1, 1, 1, 1, 101]
    assert [a.rule_id for a in decisions[5].awards] == ["open", "streak"]


def test_events_before_a_deadline_streak() -> None:
    deadline = NOON + timedelta(days=3)
    compiled = programme(
        [APP_OPEN],
        [
            rule(
                "recharge",
                "app_open",
                points=200,
                streak={"type": "before", "events": 4, "before": deadline.isoformat()},
            )
        ],
    )
    on_time = [event("app_open", at=NOON + timedelta(hours=h)) for h in (0, 5, 30, 40, 50)]
    assert points(run(on_time, compiled)) == [0, 0, 0, 200, 0]
    late = [event("app_open", at=NOON + timedelta(days=d)) for d in (0, 1, 2, 3)]
    decisions = run(late, compiled)
    assert sum(points(decisions)) == 0
    assert decisions[3].explanation.rules[0].detail == "streak deadline has passed"


def test_hybrid_watch_at_least_10_minutes_a_day_for_3_days() -> None:
    compiled = programme(
        [WATCH],
        [
            rule(
                "binge",
                "watch",
                points=200,
                streak={"type": "daily", "events_per_day": 1, "days": 3},
                conditions=[
                    {"parameter": "minutes", "operator": "greater_than_or_equal", "value": 10}
                ],
            )
        ],
    )
    watched = [(0, 12), (1, 5), (2, 15), (3, 10), (4, 30)]
    decisions = run(
        [event("watch", {"minutes": m}, at=NOON + timedelta(days=d)) for d, m in watched], compiled
    )
    # Day 1 has only 5 minutes: it does not count, so the run restarts on day 2.
    assert points(decisions) == [0, 0, 0, 0, 200]
    assert decisions[1].explanation.rules[0].outcome == "condition_failed"


def test_a_once_streak_is_not_paid_twice() -> None:
    compiled = programme([APP_OPEN], [{**TWICE_A_DAY_FOR_3_DAYS, "frequency": "once"}])
    decisions = run(_days(2, 2, 2, 2, 2, 2), compiled)
    assert sum(points(decisions)) == 100
