"""A replay's totals (`evidence.core.replay.Totals`): counted from decisions (`add`, the
replay's) and from stored values (`record`, a shadow run's report) alike, and added up across
replays (`merge`) as `Counter.update` would."""

from collections import Counter

from evidence.core.replay import Totals
from processors.engine import UserState, compile_programme, decide
from tests.unit.evidence.test_replay import config, history


def _fields(totals: Totals) -> tuple[object, ...]:
    return (
        totals.events, totals.points, totals.earned, totals.redeemed, totals.booked,
        dict(totals.by_rule), dict(totals.by_tier), dict(totals.by_event_type),
        dict(totals.by_user), dict(totals.booked_by_rule),
    )  # fmt: skip


def test_a_decision_counts_as_its_stored_values_do() -> None:
    programme = compile_programme(config(1))
    states: dict[str, UserState] = {}
    from_decisions, from_values = Totals(), Totals()
    for index, item in enumerate(history()):
        decision = decide(item, states.get(item.user_id, UserState.initial()), programme)
        states[item.user_id] = decision.state
        booked = index % 3 != 0
        from_decisions.add(decision, item.user_id, item.event_type, booked)
        awards = [(award.rule_id, award.signed_points) for award in decision.awards]
        tier = decision.explanation.tier or ""
        from_values.record(item.user_id, item.event_type, tier, decision.points, awards, booked)
    assert from_decisions.points > 0
    assert from_decisions.booked < from_decisions.points
    assert len(from_decisions.by_tier) == 2  # bea is Gold from day 2
    assert _fields(from_decisions) == _fields(from_values)


def test_merged_totals_add_as_counters_do() -> None:
    first, second = Totals(), Totals()
    first.record("ann", "read", "", 4, [("read", 4)], booked=True)
    first.record("bea", "buy", "Gold", -3, [("buy", -3)], booked=False)
    second.record("bea", "read", "Gold", 8, [("read", 8)], booked=True)
    second.record("cy", "login", "", 0, [], booked=True)
    expected = Counter(first.by_user)
    expected.update(second.by_user)
    first.merge(second)
    assert first.by_user == expected == Counter({"ann": 4, "bea": 5, "cy": 0})
    assert isinstance(first.by_user, Counter)
    assert first.by_user["nobody"] == 0
    assert first.by_rule == {"read": 12, "buy": -3}
    assert first.booked_by_rule == {"read": 12}
    assert (first.events, first.points, first.earned, first.redeemed, first.booked) == (
        4, 9, 12, 3, 12
    )  # fmt: skip
    assert first.by_tier == {"": 4, "Gold": 5}
    assert first.by_event_type == {"read": 12, "buy": -3}
