"""UserState: bytes round trip, bounded size, decode errors."""

from datetime import timedelta

import pytest

from processors.engine import StateDecodeError, UserState
from tests.unit.engine.fixtures import NOON, event, programme, rule, run

VIDEO = {"name": "video", "parameters": [{"name": "n", "type": "integer"}]}


def test_round_trip_is_exact() -> None:
    compiled = programme(
        [VIDEO],
        [
            rule(
                "daily",
                "video",
                priority=1,
                frequency="daily",
                daily_cap=25,
                conditions=[{"parameter": "n", "operator": "greater_than", "value": 5}],
            ),
            rule("streak", "video", streak={"type": "daily", "events_per_day": 1, "days": 9}),
            rule("default", "video", default=True),
        ],
    )
    decisions = run(
        [event("video", {"n": i}, at=NOON + timedelta(hours=i)) for i in range(10)], compiled
    )
    state = decisions[-1].state
    data = state.to_bytes()
    assert UserState.from_bytes(data).to_bytes() == data
    assert UserState.from_bytes(data).caps == state.caps
    assert UserState.from_bytes(UserState.initial().to_bytes()) == UserState.initial()


def test_applied_window_is_bounded_and_keeps_the_newest() -> None:
    compiled = programme([VIDEO], [rule("default", "video", default=True)])
    decisions = run([event("video", at=NOON + timedelta(minutes=i)) for i in range(100)], compiled)
    applied = decisions[-1].state.applied
    assert len(applied) == UserState.APPLIED_MAX
    assert list(applied) == [d.event_id for d in decisions[-UserState.APPLIED_MAX :]]
    assert len(decisions[-1].state.to_bytes()) < 16_000


def test_entries_of_removed_rules_are_dropped() -> None:
    old = programme([VIDEO], [rule("gone", "video", default=True, frequency="once")])
    state = run([event("video")], old)[-1].state
    assert set(state.marks) == {"gone"}
    new = programme([VIDEO], [rule("new", "video", default=True, frequency="daily")], version=2)
    assert set(run([event("video")], new, state)[-1].state.marks) == {"new"}


@pytest.mark.parametrize("data", [b"", b"[]", b'{"format": 99}', b'{"format": 1, "tier": null}'])
def test_malformed_bytes_raise_state_decode_error(data: bytes) -> None:
    with pytest.raises(StateDecodeError):
        UserState.from_bytes(data)
