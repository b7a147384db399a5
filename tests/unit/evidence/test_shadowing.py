"""A shadow run's decisions, without a database: the history before the run builds the users'
states (a daily cap, a frequency limit, a streak), from which the candidate then decides each
new event beside the versions in force; a candidate doubling one rule doubles exactly that
rule; the current configuration as candidate changes nothing; the report adds the stored
decisions up as a backtest's."""

from datetime import UTC, datetime, timedelta

import orjson

from evidence.shadow.report import Tally, report_of
from evidence.shadow.store import Run
from evidence.shadowing import Shadow, ShadowDecision, live_awards
from ledger.reads import ArchivedEvent
from processors.engine import CompiledProgramme, UserState, compile_programme, decide
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig
from tests.unit.evidence.test_replay import config, event, history

START = 24  # the run starts after the first two days (12 events a day, bea's tier on day 2)


def archive(events: list[EventV1]) -> list[ArchivedEvent]:
    """Decided live under version 1, as the ledger archives them."""
    programme = compile_programme(config(1))
    states: dict[str, UserState] = {}
    rows = []
    for seq, item in enumerate(events):
        decision = decide(item, states.get(item.user_id, UserState.initial()), programme)
        states[item.user_id] = decision.state
        awards = [{"rule_id": a.rule_id, "rule_version": a.rule_version, "kind": a.kind,
                   "points": a.points} for a in decision.awards]  # fmt: skip
        rows.append(ArchivedEvent(
            seq, item.occurred_at, item.user_id, item.event_id, item.event_type, 1, "awarded",
            decision.points, orjson.dumps(awards).decode(), item.model_dump_json(), None,
            "booked",
        ))  # fmt: skip
    return rows


def shadowed(candidate: ProgrammeConfig) -> list[ShadowDecision]:
    in_force: CompiledProgramme = compile_programme(config(1))
    shadow = Shadow(lambda _: in_force, compile_programme(candidate))
    rows = archive(history())
    for row in rows[:START]:
        shadow.history(row)
    return [shadow.decide(row) for row in rows[START:]]


def by_rule(decisions: list[ShadowDecision], live: bool) -> dict[str, int]:
    totals: dict[str, int] = {}
    for decided in decisions:
        for rule, points in (decided.live_awards if live else decided.awards).items():
            totals[rule] = totals.get(rule, 0) + points
    return totals


def test_the_current_configuration_as_candidate_decides_as_live() -> None:
    decisions = shadowed(config(1))
    assert len(decisions) == len(history()) - START
    assert all(d.reproduced for d in decisions)
    assert [d.points for d in decisions] == [d.live_points for d in decisions]
    assert [d.awards for d in decisions] == [d.live_awards for d in decisions]
    assert [d.tier for d in decisions] == [d.live_tier for d in decisions]
    # Streaks of three days complete in the run's first day: the days before it counted.
    assert by_rule(decisions, live=False)["streak"] > 0


def test_a_candidate_doubling_one_rule_doubles_exactly_that_rule() -> None:
    decisions = shadowed(config(1, buy_points=2))
    live, candidate = by_rule(decisions, live=True), by_rule(decisions, live=False)
    assert candidate["buy"] == 2 * live["buy"] > 0
    assert {rule: p for rule, p in candidate.items() if rule != "buy"} == {
        rule: p for rule, p in live.items() if rule != "buy"
    }
    assert all(d.reproduced for d in decisions)


def test_the_daily_cap_carries_over_from_the_history() -> None:
    """The run starts in the middle of a day: the reads before it count against the cap."""
    in_force = compile_programme(config(1))
    shadow = Shadow(lambda _: in_force, compile_programme(config(1, read_points=8)))
    at = datetime(2026, 4, 1, 9, tzinfo=UTC)
    rows = archive([event("ann", "read", at + timedelta(minutes=n)) for n in range(3)])
    shadow.history(rows[0])  # 4 points of the cap of 10
    decided = [shadow.decide(row) for row in rows[1:]]
    assert [d.live_points for d in decided] == [4, 2]
    assert [d.points for d in decided] == [6, 0]


def test_live_awards_are_signed_by_rule() -> None:
    awards = [{"rule_id": "a", "rule_version": 1, "kind": "earn", "points": 5},
              {"rule_id": "b", "rule_version": 1, "kind": "redeem", "points": 3}]  # fmt: skip
    assert live_awards(orjson.dumps(awards).decode()) == {"a": 5, "b": -3}


def test_the_report_adds_the_stored_decisions_up_as_a_backtest() -> None:
    candidate = config(1, buy_points=2)
    tally = Tally()
    for decision in shadowed(candidate):
        tally.add(decision)
    now = datetime.now(UTC)
    run = Run(7, "test", candidate, "running", "cli:x", now, None, "1:1:", 1, 2, None, 0)
    report = report_of(run, tally, None, None)
    rows = {row.name: row for row in report.by_rule()}
    assert rows["buy"].candidate == 2 * rows["buy"].current
    assert all(row.change == 0 for name, row in rows.items() if name != "buy")
    assert report.events == len(history()) - START
    assert report.mismatches == 0
    assert report.users == 2
    assert set(report.user_changes()) == {"ann", "bea"}
    assert report.first_arm == "live"
