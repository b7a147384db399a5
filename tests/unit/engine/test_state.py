"""UserState: bytes round trip, bounded size, decode errors."""

from datetime import timedelta

import pytest

from processors.engine import StateDecodeError, UserState, decide
from processors.engine.state import APPLIED_MAX, REASON_MAX
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
    assert len(applied) == APPLIED_MAX
    assert list(applied) == [d.event_id for d in decisions[-APPLIED_MAX:]]
    assert len(decisions[-1].state.to_bytes()) < 2_000


def test_a_stored_reason_is_bounded() -> None:
    compiled = programme([VIDEO], [rule("default", "video", default=True)])
    assignment = event("tier.assigned", {"tier": "x" * 900})
    decision = run([assignment], compiled)[-1]
    assert decision.status == "invalid_event"
    assert len(decision.reason or "") > REASON_MAX
    stored = UserState.from_bytes(decision.state.to_bytes())
    assert len(stored.to_bytes()) < REASON_MAX + 100
    again = decide(assignment, stored, compiled)
    assert again.status == "duplicate"
    assert (again.reason or "").endswith((decision.reason or "")[:REASON_MAX])


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"format": 99}',
        b'{"format": 1, "tier": null}',
        b'{"format": 1, "tier": null, "caps": {}, "marks": {}, "streaks": {}, "applied": {}}',
        b"[1, null, {}, {}, {}, {}]",  # format 1 as an array: rejected, never guessed at
        b"[2, 3, {}, {}, {}, {}]",
        b'[2, null, {"video": [1, 2]}, {}, {}, {}]',
        b'[2, null, {}, {"r": 7}, {}, {}]',
        b"[2, null, {}, {}, {}, []]",
        b'[2, null, {}, {}, {}, {"e": []}]',
        b'[2, null, {}, {}, {}, {"e": "awarded"}]',
    ],
)
def test_malformed_bytes_raise_state_decode_error(data: bytes) -> None:
    with pytest.raises(StateDecodeError):
        UserState.from_bytes(data)


@pytest.mark.parametrize(
    "record",
    [b'["r", 1]', b'["r", 1, 0]', b'["r", "1", 5]', b'["r", 1, 5, "s"]', b"[null, null]"],
)
def test_a_malformed_applied_record_raises_when_a_redelivery_reads_it(record: bytes) -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True)])
    state = UserState.from_bytes(b'[2, null, {}, {}, {}, {"evt_x": ' + record + b"}]")
    with pytest.raises(StateDecodeError):
        decide(event("video", event_id="evt_x"), state, compiled)
