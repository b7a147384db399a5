"""The archive of decided events: written with the outcome, once, in decision order, in the
month's partition (made when first needed), with what the ledger did."""

from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from ledger.archive import ArchiveMonths
from ledger.core.batch import IncomingCommand
from ledger.repository import Batch, apply_batch
from processors.engine import UserState, compile_programme, decide, ledger_command_json
from schemas.events import EventV1
from schemas.ledger import LedgerCommand
from schemas.programme import ProgrammeConfig
from tests.integration.ledger.conftest import ProgrammeFactory, apply

pytestmark = pytest.mark.integration

# Months far from any other test's events, so the partitions made here are this test's.
MAY_2031 = datetime(2031, 5, 17, 10, 0, tzinfo=UTC)
JUNE_2031 = datetime(2031, 6, 2, 9, 30, tzinfo=UTC)


def config(programme_id: str) -> ProgrammeConfig:
    return ProgrammeConfig.model_validate(
        {
            "programme_id": programme_id,
            "version": 3,
            "api_clients": [{"client_id": "shop"}],
            "event_types": [{"name": "visit"}, {"name": "order"}],
            "rules": [
                {"rule_id": "visit", "version": 2, "event_type": "visit", "status": "active",
                 "default": True, "points": 10, "daily_cap": 15},
                {"rule_id": "order", "version": 1, "event_type": "order", "status": "active",
                 "kind": "redeem", "trigger": "api", "authorised_clients": ["shop"],
                 "points": 500},
            ],
        }
    )  # fmt: skip


class Decider:
    """Decides events as the processors do and builds their commands with the record's bytes."""

    def __init__(self, programme: ProgrammeConfig) -> None:
        self._compiled = compile_programme(programme)
        self._states: dict[str, UserState] = {}

    def command(self, event: EventV1) -> IncomingCommand:
        state = self._states.get(event.user_id, UserState.initial())
        decision = decide(event, state, self._compiled)
        self._states[event.user_id] = decision.state
        received = event.model_dump_json().encode()
        command_json = ledger_command_json(event, decision, received, {"visit": 3})
        return IncomingCommand.of(LedgerCommand.model_validate_json(command_json))


def event(programme_id: str, number: int, at: datetime, **fields: str) -> EventV1:
    return EventV1(
        event_id=f"evt_{programme_id}_{number}",
        programme_id=programme_id,
        user_id="ada",
        event_type=fields.pop("event_type", "visit"),
        occurred_at=at,
        **fields,
    )


async def archived(pool: asyncpg.Pool, programme_id: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM ledger.decided_events WHERE programme_id = $1 ORDER BY seq", programme_id
    )


async def test_each_decided_event_is_archived_once_in_decision_order(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    decider = Decider(config(prog))
    visits = [event(prog, n, at) for n, at in enumerate((JUNE_2031, MAY_2031, MAY_2031))]
    order = event(prog, 9, JUNE_2031, event_type="order", rule_id="order", client_id="shop")
    commands = [decider.command(e) for e in [*visits, order]]
    first = await apply(ledger_pool, *commands[:2])
    await apply(ledger_pool, *commands)  # redelivered with the rest: archived once

    rows = await archived(ledger_pool, prog)
    assert [row["event_id"] for row in rows] == [e.event_id for e in [*visits, order]]
    assert [row["points"] for row in rows] == [10, 10, 5, -500]
    assert [row["outcome_status"] for row in rows] == ["booked"] * 3 + ["rejected"]
    assert rows[3]["rejection_reason"] == "insufficient_points"
    assert [row["decision_status"] for row in rows] == ["awarded"] * 4
    assert rows[2]["reason_code"] == "daily_cap"
    assert {row["programme_version"] for row in rows} == {3}
    assert orjson.loads(rows[0]["awards"]) == [
        {"rule_id": "visit", "rule_version": 2, "kind": "earn", "points": 10}
    ]
    assert EventV1.model_validate_json(rows[1]["event"]) == visits[1]
    assert orjson.loads(rows[0]["external_points"]) == {"visit": 3}
    assert [o.status for o in first] == ["booked", "booked"]
    partitions = await ledger_pool.fetch(
        """SELECT tableoid::regclass::text AS part FROM ledger.decided_events
           WHERE programme_id = $1 ORDER BY seq""",
        prog,
    )
    assert [p["part"] for p in partitions] == [
        "ledger.decided_events_2031_06", "ledger.decided_events_2031_05",
        "ledger.decided_events_2031_05", "ledger.decided_events_2031_06",
    ]  # fmt: skip


async def test_commands_without_a_source_event_are_not_archived(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    decider = Decider(config(prog))
    decided = decider.command(event(prog, 1, MAY_2031))
    plain = IncomingCommand.of(decided.command.model_copy(update={"source_event": None}))
    await apply(ledger_pool, plain)
    assert await archived(ledger_pool, prog) == []


async def test_a_month_is_made_once_and_a_writer_remembers_the_months_it_knows(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    decider = Decider(config(prog))
    months = ArchiveMonths()
    july = datetime(2031, 7, 1, tzinfo=UTC)
    async with ledger_pool.acquire() as conn:
        for number in range(3):
            command = decider.command(event(prog, number, july))
            await apply_batch(conn, Batch([command]), archive_months=months)
    made = await ledger_pool.fetchval(
        "SELECT count(*) FROM ledger.decided_events_months() AS m WHERE m = '2031-07-01'"
    )
    assert made == 1
    assert len(await archived(ledger_pool, prog)) == 3


async def test_the_archive_is_append_only(ledger_pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await ledger_pool.execute("DELETE FROM ledger.decided_events WHERE false")
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await ledger_pool.execute("UPDATE ledger.decided_events SET points = 0 WHERE false")
