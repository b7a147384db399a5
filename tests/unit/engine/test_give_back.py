"""A return gives back what its original's awards used of the user's caps and of the rules'
budgets for any original whose cap period is current, and for a budget whatever its age, from
bounded returnable records (`processors.engine.returnable`), once per return."""

from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.engine import CompiledProgramme, Decision, StateDecodeError, UserState, decide
from processors.engine.returnable import RETURNABLE_MAX, RETURNS_MAX
from processors.engine.returns import NOT_HELD, OVER_RETURN, REDELIVERED
from processors.engine.state import APPLIED_MAX, CAP_DAY_POINTS, CAP_MONTH_POINTS, STATE_FORMAT
from schemas.events import EventV1
from tests.unit.engine.fixtures import NOON, event, programme, rule, run

PURCHASE = {
    "name": "purchase",
    "parameters": [{"name": "amount", "type": "float", "mandatory": True}],
}
RETURNED = {
    "name": "purchase.returned",
    "parameters": [
        {"name": "original_reference_id", "type": "string", "mandatory": True},
        {"name": "amount", "type": "float", "mandatory": True},
    ],
    "returns": {"event_types": ["purchase"], "field": "amount"},
}
VISIT = {"name": "visit"}
FILLERS = APPLIED_MAX + 8  # 40 events after the original: it has left the applied window


def shop(**limits: Any) -> CompiledProgramme:
    """A purchase earns 1 point per unit of its amount, within `limits`; a visit earns 1."""
    per_unit = rule("buy", "purchase", points_type="per_unit", points=1, unit_field="amount")
    return programme(
        [PURCHASE, RETURNED, VISIT], [{**per_unit, **limits}, rule("visit", "visit", points=1)]
    )


def buy(amount: float, at: datetime = NOON, event_id: str = "buy") -> EventV1:
    return event("purchase", {"amount": amount}, at=at, event_id=event_id)


def give_back(amount: float, at: datetime = NOON, original: str = "buy", **fields: Any) -> EventV1:
    metadata = {"original_reference_id": original, "amount": amount}
    return event("purchase.returned", metadata, at=at, **fields)


def visits(
    count: int, start: datetime = NOON, step: timedelta = timedelta(minutes=1)
) -> list[EventV1]:
    return [event("visit", at=start + step * (index + 1)) for index in range(count)]


def given_back(decision: Decision) -> dict[str, Any]:
    explained = decision.explanation.to_dict()["given_back"]
    assert isinstance(explained, dict)
    return explained


def test_a_return_after_forty_events_the_same_day_frees_the_daily_cap_and_the_budget() -> None:
    compiled = shop(daily_cap=100, budget_max=1_000)
    decisions = run([buy(100), *visits(FILLERS)], compiled, budget_used={"buy": 100})
    state = decisions[-1].state
    assert "buy" not in state.applied
    later = NOON + timedelta(hours=2)
    assert run([buy(50, later, "cut")], compiled, state)[0].points == 0  # the cap is used up
    returned = decide(give_back(100, later), state, compiled, budget_used={"buy": 100})
    assert returned.budget_consumed == {"buy": -100}
    assert returned.state.caps["purchase"][CAP_DAY_POINTS] == 0
    assert given_back(returned) == {
        "original_event_id": "buy",
        "event_type": "purchase",
        "daily_cap_points": 100,
        "monthly_cap_points": 100,
        "budget_points": {"buy": 100},
        "detail": "gave back 100 of the daily and 100 of the monthly cap of 'purchase'; "
        "100 of rule 'buy's budget",
    }
    assert run([buy(50, later, "again")], compiled, returned.state)[0].points == 50


def test_a_return_weeks_later_frees_the_monthly_cap() -> None:
    compiled = shop(monthly_cap=100)
    start = datetime(2024, 3, 1, 9, tzinfo=NOON.tzinfo)
    decisions = run([buy(100, start), *visits(FILLERS, start, timedelta(hours=12))], compiled)
    later = start + timedelta(days=25)
    returned = decide(give_back(40, later), decisions[-1].state, compiled)
    counter = returned.state.caps["purchase"]
    assert (counter[CAP_MONTH_POINTS], returned.budget_consumed) == (60, {})
    assert run([buy(70, later, "again")], compiled, returned.state)[0].points == 40


def test_a_budget_is_given_back_whatever_the_originals_age() -> None:
    compiled = shop(budget_max=10_000)
    start = datetime(2024, 1, 5, 9, tzinfo=NOON.tzinfo)
    monthly = [buy(10, start + timedelta(days=41 + 31 * n), f"b{n}") for n in range(3)]
    decisions = run([buy(100, start), *visits(FILLERS, start, timedelta(days=1)), *monthly],
                    compiled)  # fmt: skip
    assert list(decisions[-1].state.returnable) == ["buy", "b0", "b1", "b2"]
    returned = decide(give_back(100, start + timedelta(days=150)), decisions[-1].state, compiled)
    assert returned.budget_consumed == {"buy": -100}
    assert "buy" not in returned.state.returnable  # returned in full: nothing left to give


def test_an_original_whose_cap_month_has_ended_and_used_no_budget_is_not_kept() -> None:
    compiled = shop(monthly_cap=1_000)
    next_month = NOON + timedelta(days=31)
    decisions = run([buy(100), buy(5, next_month, "april")], compiled)
    assert list(decisions[-1].state.returnable) == ["april"]
    returned = decide(give_back(100, next_month), decisions[-1].state, compiled)
    assert (returned.budget_consumed, returned.state.caps) == ({}, decisions[-1].state.caps)
    assert given_back(returned)["detail"] == NOT_HELD


def test_an_award_that_nothing_limits_leaves_no_record() -> None:
    decisions = run([buy(100)], shop())
    assert decisions[-1].state.returnable == {}


def test_the_records_are_bounded_and_the_oldest_goes_first() -> None:
    compiled = shop(budget_max=10**9)
    buys = [buy(1, NOON + timedelta(minutes=n), f"b{n}") for n in range(RETURNABLE_MAX + 6)]
    state = run(buys, compiled)[-1].state
    assert list(state.returnable) == [f"b{n}" for n in range(6, RETURNABLE_MAX + 6)]
    assert len(state.to_bytes()) < 12_000
    returned = decide(give_back(1, original="b0"), state, compiled)
    assert (returned.budget_consumed, given_back(returned)["detail"]) == ({}, NOT_HELD)


def test_a_redelivered_return_gives_back_once_however_late() -> None:
    compiled = shop(daily_cap=1_000, budget_max=1_000)
    refund = give_back(30, NOON + timedelta(seconds=1), event_id="refund")
    first = run([buy(100), refund], compiled)[-1]
    assert first.budget_consumed == {"buy": -30}
    soon = decide(refund, first.state, compiled)
    state = run(visits(FILLERS, NOON + timedelta(seconds=2)), compiled, first.state)[-1].state
    late = decide(refund, state, compiled)
    for again in (soon, late):
        assert again.budget_consumed == {}
        assert given_back(again)["detail"] == REDELIVERED
    assert late.state.caps == state.caps
    assert late.state.returnable == state.returnable
    second = decide(give_back(70, NOON + timedelta(hours=1)), late.state, compiled)
    assert second.budget_consumed == {"buy": -70}


def test_over_returns_give_back_nothing() -> None:
    compiled = shop(budget_max=1_000)
    decisions = run([buy(10), give_back(7), give_back(7), give_back(3)], compiled)
    assert [d.budget_consumed for d in decisions[1:]] == [{"buy": -7}, {}, {"buy": -3}]
    assert given_back(decisions[2])["detail"] == OVER_RETURN


def test_only_the_first_returns_of_an_original_give_back() -> None:
    compiled = shop(budget_max=1_000)
    refunds = [give_back(1, NOON + timedelta(minutes=n)) for n in range(RETURNS_MAX + 1)]
    decisions = run([buy(100), *refunds], compiled)
    consumed = [d.budget_consumed for d in decisions[1:]]
    assert consumed == [{"buy": -1}] * RETURNS_MAX + [{}]
    assert "buy" not in decisions[RETURNS_MAX].state.returnable


def test_a_tier_change_keeps_the_records() -> None:
    compiled = shop(budget_max=1_000)
    bought = run([buy(100)], compiled)[-1]
    assigned = decide(event("tier.assigned", {"tier": "Gold"}), bought.state, compiled)
    assert assigned.state.returnable == bought.state.returnable


def test_records_survive_the_state_encoding() -> None:
    compiled = shop(daily_cap=500, budget_max=1_000)
    state = run([buy(100), give_back(20, event_id="r1")], compiled)[-1].state
    data = state.to_bytes()
    assert orjson.loads(data)[0] == STATE_FORMAT == 4
    decoded = UserState.from_bytes(data)
    assert decoded == state
    assert decoded.to_bytes() == data
    late = decide(give_back(20, event_id="r1"), UserState.from_bytes(data), compiled)
    assert late.budget_consumed == {}


@pytest.mark.parametrize(
    "returnable",
    [b"[]", b'{"e": 5}', b'{"e": []}', b'{"e": [1, 2, "t", "1", "0", [], "r", 1]}'],
)
def test_malformed_returnable_records_raise_state_decode_error(returnable: bytes) -> None:
    with pytest.raises(StateDecodeError):
        UserState.from_bytes(b"[4, null, {}, {}, {}, {}, null, " + returnable + b"]")


def test_a_malformed_record_raises_when_a_return_reads_it() -> None:
    state = UserState.from_bytes(
        b'[4, null, {}, {}, {}, {}, null, {"buy": [1, 2, "purchase", "x", "0", [], "buy", 1, 0]}]'
    )
    with pytest.raises(StateDecodeError):
        decide(give_back(1), state, shop(budget_max=5))


def test_a_format_3_state_still_gives_back_from_its_applied_record() -> None:
    compiled = shop(daily_cap=500, budget_max=1_000)
    bought = run([buy(100)], compiled)[-1]
    at_us, day, month = compiled.calendar.periods(NOON)
    old = orjson.dumps(
        [3, None, {"purchase": [day, 100, month, 100]}, {}, {},
         {"buy": [at_us, "buy", 1, 100, "purchase\x1f100"]}, None]
    )  # fmt: skip
    state = UserState.from_bytes(old)
    assert state.returnable == {}
    first = decide(give_back(40), state, compiled)
    assert first.budget_consumed == {"buy": -40}
    assert first.state.caps["purchase"] == [day, 60, month, 60]
    assert first.state.caps == decide(give_back(40), bought.state, compiled).state.caps
    rest = decide(give_back(60), first.state, compiled)
    assert rest.budget_consumed == {"buy": -60}
    assert orjson.loads(rest.state.to_bytes())[0] == STATE_FORMAT


amounts = st.integers(min_value=1, max_value=10_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    amount=amounts,
    points_cap=st.integers(min_value=1, max_value=5_000),
    parts=st.lists(st.integers(min_value=1, max_value=4_000), min_size=1, max_size=RETURNS_MAX),
    fillers=st.lists(st.integers(min_value=0, max_value=FILLERS), min_size=RETURNS_MAX,
                     max_size=RETURNS_MAX),
    redelivered=st.lists(st.booleans(), min_size=RETURNS_MAX, max_size=RETURNS_MAX),
)  # fmt: skip
def test_the_give_back_is_the_share_of_the_returns_whatever_came_between(
    amount: int,
    points_cap: int,
    parts: list[int],
    fillers: list[int],
    redelivered: list[bool],
) -> None:
    """However many events come between (within the day) and whichever returns are
    redelivered, the budget and the cap get back exactly the running total's share of the
    award (rounded down, as the ledger takes it back), never more than it used; over-returns
    give back nothing."""
    compiled = shop(daily_cap=points_cap, budget_max=10**9)
    state = run([buy(amount)], compiled)[-1].state
    awarded = min(amount, points_cap)
    returned, budget_back, at = 0, 0, NOON
    for index, part in enumerate(parts):
        for filler in visits(fillers[index], at):
            state = decide(filler, state, compiled).state
        at += timedelta(minutes=fillers[index] + 1)
        refund = give_back(part, at, event_id=f"refund-{index}")
        decision = decide(refund, state, compiled)
        if redelivered[index]:
            again = decide(refund, decision.state, compiled)
            assert again.budget_consumed == {}
            assert again.state.caps == decision.state.caps
        state = decision.state
        if returned + part <= amount:
            returned += part
        budget_back -= sum(decision.budget_consumed.values())
        assert budget_back == awarded * returned // amount
        assert state.caps["purchase"][CAP_DAY_POINTS] == awarded - budget_back
