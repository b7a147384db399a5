"""The replay behind backtests, without a database: the configuration in force gives back what
was decided (caps, frequency, streaks, tiers, a change of version in the middle); a candidate is
compared from the users' states at the window's start; the report's sections add up."""

from datetime import UTC, datetime, timedelta

from evidence.core.replay import Replay
from evidence.report import report_of
from processors.engine import CompiledProgramme, UserState, compile_programme, decide
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig
from tests.unit.engine.fixtures import config_dict, rule

DAY1 = datetime(2026, 4, 1, 9, tzinfo=UTC)
AMOUNT = {"name": "amount", "type": "integer", "mandatory": True}
TYPES: list[dict[str, object]] = [
    {"name": "read"}, {"name": "login"}, {"name": "buy", "parameters": [AMOUNT]},
]  # fmt: skip
STREAK = {"type": "daily", "events_per_day": 1, "days": 3}


def config(version: int, read_points: int = 4, buy_points: int = 1) -> ProgrammeConfig:
    rules = [
        rule("read", "read", default=True, points=read_points, daily_cap=10, version=version),
        rule("login", "login", default=True, points=5, frequency="daily"),
        rule("streak", "login", points=50, streak=STREAK),
        rule("buy", "buy", default=True, points=buy_points, points_type="per_unit",
             unit_field="amount"),
    ]  # fmt: skip
    return ProgrammeConfig.model_validate(config_dict(TYPES, rules, version=version))


def history() -> list[EventV1]:
    """Four days of two users; Gold (x2) for bea from day 2."""
    events = []
    for day in range(4):
        at = DAY1 + timedelta(days=day)
        for user in ("ann", "bea"):
            events += [event(user, "read", at), event(user, "read", at), event(user, "read", at)]
            events += [event(user, "login", at), event(user, "login", at)]
            events.append(event(user, "buy", at, {"amount": 7 + day}))
        if day == 1:
            events.append(event("bea", "tier.assigned", at, {"tier": "Gold"}))
    return events


_numbers = iter(range(1_000_000))


def event(user: str, kind: str, at: datetime, metadata: dict[str, object] | None = None) -> EventV1:
    return EventV1(event_id=f"evt_{next(_numbers)}", programme_id="test", user_id=user,
                   event_type=kind, occurred_at=at, metadata=metadata or {})  # fmt: skip


def live(events: list[EventV1], change_at: int) -> list[tuple[EventV1, int, int]]:
    """Decided as the processors did: version 1, then version 2 (read pays 6) from the
    `change_at`th event on; (event, version used, points)."""
    versions = {1: compile_programme(config(1)), 2: compile_programme(config(2, read_points=6))}
    states: dict[str, UserState] = {}
    decided = []
    for index, item in enumerate(events):
        version = 1 if index < change_at else 2
        decision = decide(item, states.get(item.user_id, UserState.initial()), versions[version])
        states[item.user_id] = decision.state
        decided.append((item, version, decision.points))
    return decided


def replayed(
    decided: list[tuple[EventV1, int, int]], candidate: ProgrammeConfig, since: datetime | None
) -> Replay:
    versions = {1: compile_programme(config(1)), 2: compile_programme(config(2, read_points=6))}

    def in_force(version: int | None) -> CompiledProgramme:
        return versions[version or 2]

    replay = Replay(in_force, compile_programme(candidate), since)
    for item, version, points in decided:
        replay.add(item, version, points, None, booked=True)
    return replay


def test_the_configuration_in_force_gives_back_what_was_decided() -> None:
    decided = live(history(), change_at=14)
    replay = replayed(decided, config(3, read_points=6), since=None)
    assert replay.mismatches == 0
    current = replay.current.totals
    assert current.points == sum(points for _, _, points in decided)
    assert current.by_rule["streak"] == 50 + 100  # ann's, then bea's as Gold
    assert current.by_tier["Gold"] > 0
    assert current.booked == current.points


def test_a_candidate_doubling_one_rule_doubles_exactly_that_rules_points() -> None:
    decided = live(history(), change_at=14)
    since = DAY1 + timedelta(days=1)
    replay = replayed(decided, config(3, read_points=6, buy_points=2), since)
    current, candidate = replay.current.totals, replay.candidate.totals
    assert replay.history_events == 12
    assert candidate.by_rule["buy"] == 2 * current.by_rule["buy"]
    for other in ("read", "login", "streak"):
        assert candidate.by_rule[other] == current.by_rule[other], other
    report = report_of(replay.outcome(), "test", 3, since, None, current.booked_by_rule, {})
    assert report.reproduces
    assert {row.name: row.change for row in report.by_rule()}["buy"] == current.by_rule["buy"]
    assert len(report.user_changes()) == 2
    assert sum(count for _, count in report.distribution()) == report.users


def test_a_replay_that_differs_from_what_was_decided_says_so() -> None:
    decided = live(history(), change_at=14)
    tampered = [(e, v, p + 1) if i == 3 else (e, v, p) for i, (e, v, p) in enumerate(decided)]
    replay = replayed(tampered, config(3), since=None)
    assert replay.mismatches == 1
    report = report_of(
        replay.outcome(), "test", 3, None, None, replay.current.totals.booked_by_rule, {}
    )
    assert not report.reproduces
    assert report.mismatch_examples[0].event_id == tampered[3][0].event_id
