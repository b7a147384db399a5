"""The pure parts of a replay in shares: how many processes, whether the shares' merged
outcome can be kept (no rule budget ran out) or the replay must run in one process, and that a
replay taking each user's events together gives the outcome of decision order."""

from datetime import timedelta

import pytest

from evidence.core.replay import Outcome, Totals
from evidence.replaying import replay_of
from evidence.shares import (
    EVENTS_PER_WORKER_MIN,
    WORKERS_MAX,
    budget_limits,
    within_budgets,
    workers_for,
)
from tests.unit.evidence.test_alike import CANDIDATES, changed, versions
from tests.unit.evidence.test_replay import DAY1, config, history, live


def test_one_process_per_cpu_and_enough_events_for_each() -> None:
    assert workers_for(0, 8) == 1
    assert workers_for(EVENTS_PER_WORKER_MIN * 3 - 1, 8) == 2
    assert workers_for(10**9, 4) == 4
    assert workers_for(10**9, None) == 1
    assert workers_for(10**12, 1000) == WORKERS_MAX


def test_a_rules_smallest_budget_over_the_configurations_is_its_limit() -> None:
    larger, smaller = {"budget_max": 50}, {"budget_max": 30}
    configs = [changed(config(1), buy=larger), changed(config(1), buy=smaller), config(1)]
    assert budget_limits(configs) == {"buy": 30}


def test_the_shares_outcome_is_kept_only_when_no_budget_ran_out() -> None:
    outcome = Outcome(Totals(), Totals(), {"buy": 30}, {"buy": 25})
    assert within_budgets(outcome, {"buy": 31})
    assert within_budgets(outcome, {})
    assert not within_budgets(outcome, {"buy": 29})
    assert not within_budgets(Outcome(candidate_budget_used={"buy": 31}), {"buy": 30})


def test_a_budget_used_up_exactly_may_have_cut_an_award() -> None:
    # One share's users alone may have reached the limit with a cut award: which one was cut
    # depends on the order its worker took them in.
    assert not within_budgets(Outcome(current_budget_used={"buy": 30}), {"buy": 30})
    assert not within_budgets(Outcome(candidate_budget_used={"buy": 30}), {"buy": 30})


def test_outcomes_add_up() -> None:
    first, second = Outcome(), Outcome()
    first.current.by_rule["buy"] = 3
    first.current_budget_used["buy"] = 3
    second.current.by_rule["buy"] = 4
    second.current_budget_used["buy"] = 4
    second.mismatches = 2
    first.merge(second)
    assert first.current.by_rule["buy"] == 7
    assert first.current_budget_used == {"buy": 7}
    assert first.mismatches == 2


@pytest.mark.parametrize("name", sorted(CANDIDATES))
@pytest.mark.parametrize("since_days", [None, 1, 3])
def test_each_users_events_together_give_the_outcome_of_decision_order(
    name: str, since_days: int | None
) -> None:
    """As a worker takes a group of rows (`replaying.replay_share`): sorted by user, stably.
    With a window, users' history events then come after other users' window events."""
    candidate = CANDIDATES[name]
    since = None if since_days is None else DAY1 + timedelta(days=since_days)
    decided = live(history(), change_at=14)
    outcomes = []
    for order in (decided, sorted(decided, key=lambda item: item[0].user_id)):
        replay = replay_of(versions(), candidate, since)
        for event, version, points in order:
            replay.add(event, version, points, None, booked=True)
        outcomes.append(replay.outcome())
    in_order, by_user = outcomes
    limits = budget_limits([*versions().configs.values(), candidate])
    assert within_budgets(by_user, limits) == (name != "buy's budget runs out")
    if within_budgets(by_user, limits):
        assert by_user == in_order
