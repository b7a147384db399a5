"""Deciding an event once for both arms of a replay (`evidence.core.alike`): which event types a
candidate decides as a version did, and that a replay sharing those decisions gives exactly the
outcome of one that decides every event twice, whatever the candidate."""

from collections.abc import Mapping
from datetime import timedelta

import pytest

from evidence.core.alike import AlikeTypes
from evidence.core.replay import Outcome, Replay
from evidence.replaying import Versions, replay_of
from processors.engine import compile_programme
from schemas.programme import ProgrammeConfig
from tests.unit.evidence.test_replay import DAY1, config, history, live


def versions() -> Versions:
    return Versions({1: config(1), 2: config(2, read_points=6)}, 2)


def changed(
    base: ProgrammeConfig, version: int = 3, **rules: Mapping[str, object]
) -> ProgrammeConfig:
    """`base` as another version, some rules' fields changed."""
    data = base.model_dump(mode="json")
    data["version"] = version
    for rule in data["rules"]:
        rule.update(rules.get(rule["rule_id"], {}))
    return ProgrammeConfig.model_validate(data)


def test_a_type_is_alike_when_its_rules_and_the_settings_are() -> None:
    alike = AlikeTypes(versions().config_of, changed(config(2, read_points=6)))
    assert alike.budgeted_if_alike(2, "read") == ()
    assert alike.budgeted_if_alike(None, "login") == ()  # an event without one: the latest
    assert alike.budgeted_if_alike(1, "read") is None  # 4 points (rule version 1), not 6
    assert alike.budgeted_if_alike(1, "login") == ()
    doubled = AlikeTypes(versions().config_of, changed(config(2, read_points=6), buy={"points": 2}))
    assert doubled.budgeted_if_alike(2, "buy") is None
    assert doubled.budgeted_if_alike(2, "login") == ()


def test_settings_or_another_set_of_rules_make_no_type_alike() -> None:
    tiers = changed(config(2, read_points=6)).model_dump(mode="json")
    tiers["tiers"][1]["multiplier"] = "3"
    fewer = changed(config(2, read_points=6)).model_dump(mode="json")
    fewer["rules"] = [rule for rule in fewer["rules"] if rule["rule_id"] != "streak"]
    for data in (tiers, fewer):
        alike = AlikeTypes(versions().config_of, ProgrammeConfig.model_validate(data))
        assert alike.budgeted_if_alike(2, "read") is None
        assert alike.budgeted_if_alike(2, "buy") is None


def test_a_budgeted_rule_is_named_for_its_type() -> None:
    budget: dict[str, object] = {"budget_max": 30}
    stored = Versions({1: changed(config(1), version=1, buy=budget)}, 1)
    alike = AlikeTypes(stored.config_of, changed(config(1), buy=budget))
    assert alike.budgeted_if_alike(1, "buy") == ("buy",)
    assert alike.budgeted_if_alike(1, "read") == ()


def outcome(replay: Replay, history_versions: int) -> Outcome:
    for event, version, points in live(history(), change_at=history_versions):
        replay.add(event, version, points, None, booked=True)
    return replay.outcome()


CANDIDATES = {
    "in force": changed(config(2, read_points=6)),
    "read as version 1": changed(config(1)),
    "buy doubled": changed(config(2, read_points=6), buy={"points": 2}),
    "buy's budget runs out": changed(config(2, read_points=6), buy={"budget_max": 25}),
    "read capped lower": changed(config(2, read_points=6), read={"daily_cap": 7}),
    "streak doubled": changed(config(2, read_points=6), streak={"points": 100}),
    "login weekly": changed(config(2, read_points=6), login={"frequency": "weekly"}),
}


@pytest.mark.parametrize("name", sorted(CANDIDATES))
@pytest.mark.parametrize("since_days", [None, 1, 3])
def test_sharing_alike_decisions_changes_no_outcome(name: str, since_days: int | None) -> None:
    candidate = CANDIDATES[name]
    since = None if since_days is None else DAY1 + timedelta(days=since_days)
    shared = outcome(replay_of(versions(), candidate, since), 14)
    twice = outcome(Replay(versions(), compile_programme(candidate), since), 14)
    assert shared == twice


def test_a_replay_of_the_configuration_in_force_shares_every_state() -> None:
    stored = Versions({1: config(1)}, 1)
    replay = replay_of(stored, changed(config(1)), None)
    outcome(replay, len(history()))
    assert replay.candidate.states.keys() == replay.current.states.keys() == {"ann", "bea"}
    for user, state in replay.current.states.items():
        assert replay.candidate.states[user] is state
    assert replay.candidate.totals == replay.current.totals


def test_a_candidate_doubling_one_rule_decides_only_that_types_events_twice() -> None:
    """Once a user's buys earn other points, the arms' states differ in their cap counters of
    buy and their applied records (`evidence.core.apart`): the user's other events are still decided
    once for both."""
    stored = Versions({1: config(1)}, 1)
    replay = replay_of(stored, changed(config(1), buy={"points": 2}), None)
    outcome(replay, len(history()))
    buys = sum(1 for event in history() if event.event_type == "buy")
    assert replay.decided_twice == buys
    assert replay.candidate.totals.by_rule["buy"] == 2 * replay.current.totals.by_rule["buy"]
    for user, state in replay.current.states.items():
        assert replay.candidate.states[user].caps["buy"] != state.caps["buy"]
        assert replay.candidate.states[user].marks is state.marks
