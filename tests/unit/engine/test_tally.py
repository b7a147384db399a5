"""The batch tally's counting (`processors.engine.tally`), decision by decision."""

from processors.engine import UserState, decide
from processors.engine.tally import DecisionTally
from tests.unit.engine.fixtures import event, programme, rule

VIDEO = {"name": "video"}


def test_a_decision_counts_its_status_refusals_and_earned_points() -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True, frequency="daily")])
    tally = DecisionTally()
    state = UserState.initial()
    for _ in range(2):  # paid, then limited to once a day
        decision = decide(event("video"), state, compiled)
        tally.decision("test", decision)
        state = decision.state
    tally.decision("test", decide(event("unknown"), UserState.initial(), compiled))
    assert tally.events == {("test", "awarded"): 1, ("test", "no_points"): 2}
    assert tally.rejections == {("test", "frequency_limited"): 1, ("test", "no_rule"): 1}
    assert tally.points == {("test", "r"): 10}
    tally.clear()
    assert tally.events == tally.rejections == tally.points == {}


def test_an_award_that_a_limit_also_refused_counts_the_refusal() -> None:
    tally = DecisionTally()
    tally.decided("p", "awarded", ["awarded", "cut_to_zero"])
    tally.decided("p", "awarded", ["awarded"])
    assert tally.events == {("p", "awarded"): 2}
    assert tally.rejections == {("p", "cut_to_zero"): 1}
