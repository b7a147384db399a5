"""A backtest replayed in several processes, each a share of the users, on a real archive (the
ledger's repository books and archives decided events): the same report as one process, a
window's history included; and when a rule's budget runs out (the order across users then
matters), the same report too, the shares' outcome set aside for a replay in one process, in
decision order."""

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from evidence.backtest import Parallel, backtest
from evidence.report import Report
from evidence.shares import GROUP_ROWS
from ledger.core.batch import IncomingCommand
from processors.engine import UserState, compile_programme, decide, ledger_command_json
from schemas.events import EventV1
from schemas.ledger import LedgerCommand
from schemas.programme import ProgrammeConfig
from tests.integration.ledger.conftest import ProgrammeFactory, apply

pytestmark = pytest.mark.integration

DAY1 = datetime(2031, 3, 2, 8, tzinfo=UTC)
USERS = [f"u{index}" for index in range(9)]
DAYS = 4
WORKERS = 3


def config(programme_id: str, version: int = 1, visit_points: int = 10,
           budget_max: int | None = None) -> ProgrammeConfig:  # fmt: skip
    buy: dict[str, object] = {
        "rule_id": "buy", "version": 1, "event_type": "buy", "status": "active",
        "default": True, "points": 1, "points_type": "per_unit", "unit_field": "amount",
    }  # fmt: skip
    if budget_max is not None:
        buy["budget_max"] = budget_max
    return ProgrammeConfig.model_validate({
        "programme_id": programme_id, "version": version,
        "event_types": [{"name": "visit"}, {"name": "buy", "parameters": [
            {"name": "amount", "type": "integer", "mandatory": True}]}],
        "rules": [
            {"rule_id": "visit", "version": 1, "event_type": "visit", "status": "active",
             "default": True, "points": visit_points, "daily_cap": 35},
            buy,
        ],
    })  # fmt: skip


def history(programme_id: str) -> list[EventV1]:
    """Each day, each user: three visits (the daily cap cuts them at twice their points) and
    a purchase."""
    events = []
    for day in range(DAYS):
        for number, user in enumerate(USERS):
            at = DAY1 + timedelta(days=day, minutes=number)
            nothing: dict[str, object] = {}
            kinds = [("visit", nothing)] * 3 + [("buy", {"amount": 7 + number})]
            for offset, (kind, metadata) in enumerate(kinds):
                events.append(EventV1(
                    event_id=f"evt_{programme_id}_{day}_{user}_{offset}",
                    programme_id=programme_id, user_id=user, event_type=kind,
                    occurred_at=at + timedelta(seconds=offset), metadata=metadata,
                ))  # fmt: skip
    return events


async def archive(pool: asyncpg.Pool, programme: ProgrammeConfig) -> None:
    """Decided as the processors do (a rule budget's use carried across users) and booked."""
    compiled = compile_programme(programme)
    states: dict[str, UserState] = {}
    budget_used: dict[str, int] = {}
    commands = []
    for event in history(programme.programme_id):
        state = states.get(event.user_id, UserState.initial())
        decision = decide(event, state, compiled, budget_used=budget_used)
        states[event.user_id] = decision.state
        for rule_id, points in decision.budget_consumed.items():
            budget_used[rule_id] = budget_used.get(rule_id, 0) + points
        raw = ledger_command_json(event, decision, event.model_dump_json().encode())
        commands.append(IncomingCommand.of(LedgerCommand.model_validate_json(raw)))
    await apply(pool, *commands)
    await pool.execute(
        """INSERT INTO programme_versions (programme_id, version, config, source, actor)
           VALUES ($1, $2, $3::jsonb, 'file', 'test')""",
        programme.programme_id,
        programme.version,
        programme.model_dump_json(),
    )


def assert_same(shares: Report, single: Report) -> None:
    assert shares.current == single.current
    assert shares.candidate == single.candidate
    assert (shares.events, shares.history_events) == (single.events, single.history_events)
    assert (shares.mismatches, shares.rejected_live) == (single.mismatches, single.rejected_live)
    assert shares.ledger_booked == single.ledger_booked
    assert shares.distribution() == single.distribution()


# Each worker takes its users' events a group of rows at a time, user by user: one group for
# the whole share (the default's size), and groups that cut across the days and the window.
@pytest.mark.parametrize("group_rows", [GROUP_ROWS, 7])
async def test_shares_of_the_users_give_the_report_of_one_process(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory, postgres_url: str, group_rows: int
) -> None:
    programme = config(await new_programme())
    await archive(ledger_pool, programme)
    candidate = config(programme.programme_id, version=2, visit_points=20)
    since = DAY1 + timedelta(days=1)
    prog = programme.programme_id

    single = await backtest(ledger_pool, prog, candidate, since)
    shares = await backtest(ledger_pool, prog, candidate, since,
                            parallel=Parallel(postgres_url, WORKERS, group_rows))  # fmt: skip

    assert single.reproduces
    assert single.history_events == len(USERS) * 4
    assert single.candidate.by_rule["visit"] > single.current.by_rule["visit"] > 0
    assert_same(shares, single)


async def test_a_budget_that_runs_out_is_replayed_in_one_process(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory, postgres_url: str
) -> None:
    budget = 100  # the purchases earn 7 to 15 points each: spent on the first day
    programme = config(await new_programme(rule_budgets={"buy": budget}), budget_max=budget)
    await archive(ledger_pool, programme)
    candidate = config(programme.programme_id, version=2, budget_max=2 * budget)
    prog = programme.programme_id

    single = await backtest(ledger_pool, prog, candidate)
    shares = await backtest(ledger_pool, prog, candidate, parallel=Parallel(postgres_url, WORKERS))

    assert single.reproduces
    assert (single.current.by_rule["buy"], single.candidate.by_rule["buy"]) == (budget, 2 * budget)
    assert_same(shares, single)
