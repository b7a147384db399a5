"""Shadow runs on the real Postgres: the worker's follower takes the events archived since the
run started (the history before it builds the states), decides them under the candidate and
stores them once; taken up again (a restart), it stores nothing twice and goes on with the
same states; a row archived by a transaction that commits late, after later rows were read, is
still shadowed (the archive's horizon, decision 0018); a run's sums (points under both arms,
users affected) follow its stored decisions, each counted once."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from evidence.shadow import report as shadow_report
from evidence.shadow import store
from evidence.shadow.following import Follower, follow, take_up
from evidence.shadowing import ShadowDecision
from schemas.events import EventV1
from schemas.programme import ProgrammeConfig
from tests.integration.ledger.conftest import ProgrammeFactory, apply
from tests.integration.ledger.test_archive import Decider, config

pytestmark = pytest.mark.integration

AT = datetime(2031, 7, 1, 8, tzinfo=UTC)
FOLLOW_WAIT_S = 60.0
"""Another session's long transaction on the shared server holds the horizon back a while."""


def visit(programme_id: str, number: int, user: str = "ada") -> EventV1:
    return EventV1(
        event_id=f"evt_{programme_id}_{number}", programme_id=programme_id, user_id=user,
        event_type="visit", occurred_at=AT + timedelta(minutes=number),
    )  # fmt: skip


def doubled(programme: ProgrammeConfig) -> ProgrammeConfig:
    data = programme.model_dump(mode="json")
    data["version"] = 99
    data["rules"][0] |= {"points": 20, "daily_cap": 30}
    return ProgrammeConfig.model_validate(data)


async def stored_versions(pool: asyncpg.Pool, programme: ProgrammeConfig) -> None:
    await pool.execute(
        """INSERT INTO programme_versions (programme_id, version, config, source, actor)
           VALUES ($1, $2, $3::jsonb, 'file', 'test')""",
        programme.programme_id, programme.version, programme.model_dump_json(),
    )  # fmt: skip


async def started(pool: asyncpg.Pool, candidate: ProgrammeConfig) -> store.Run:
    async with pool.acquire() as conn, conn.transaction():
        return await store.start(conn, candidate, "test")


async def decisions(pool: asyncpg.Pool, run_id: int) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM shadow_decisions WHERE run_id = $1 ORDER BY seq", run_id)


async def follow_until(pool: asyncpg.Pool, follower: Follower, count: int) -> None:
    deadline = time.monotonic() + FOLLOW_WAIT_S
    while len(await decisions(pool, follower.run_id)) < count:
        assert time.monotonic() < deadline, "the follower did not catch up"
        assert await follow(pool, follower, chunk_rows=2, decisions_max=1_000)
        await asyncio.sleep(0.1)


async def test_a_run_shadows_what_is_archived_after_its_start_once(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    live = config(prog)
    await stored_versions(ledger_pool, live)
    decider = Decider(live)
    await apply(ledger_pool, decider.command(visit(prog, 0)))  # history: 10 of the cap of 15
    run = await started(ledger_pool, doubled(live))
    await apply(ledger_pool, *(decider.command(visit(prog, n)) for n in (1, 2, 3)))
    follower = await take_up(ledger_pool, run, chunk_rows=2)
    await follow_until(ledger_pool, follower, 3)

    rows = await decisions(ledger_pool, run.run_id)
    assert [row["event_id"] for row in rows] == [visit(prog, n).event_id for n in (1, 2, 3)]
    assert [row["live_points"] for row in rows] == [5, 0, 0]  # the cap of 15, history counted
    assert [row["points"] for row in rows] == [20, 0, 0]  # the candidate's 30, from 10
    assert all(row["reproduced"] and row["booked"] for row in rows)
    balance = await ledger_pool.fetchval(
        "SELECT balance FROM ledger.accounts WHERE programme_id = $1 AND owner_id = 'ada'", prog
    )
    assert balance == 15  # nothing of the candidate is booked

    # A restart: taken up from the stored run, the same decisions are not stored again, and
    # the states go on (the next day's visit, under the candidate: 20).
    again = await take_up(ledger_pool, await store.get(ledger_pool, run.run_id) or run, 2)
    assert await follow(ledger_pool, again, chunk_rows=2, decisions_max=1_000)
    assert len(await decisions(ledger_pool, run.run_id)) == 3
    next_day = visit(prog, 24 * 60)
    await apply(ledger_pool, decider.command(next_day))
    await follow_until(ledger_pool, again, 4)
    last = (await decisions(ledger_pool, run.run_id))[-1]
    assert (last["event_id"], last["points"], last["live_points"]) == (next_day.event_id, 20, 10)
    found = await store.get(ledger_pool, run.run_id)
    assert found is not None
    assert (found.decisions, found.live_points, found.points, found.users_affected) == (
        4,
        15,
        40,
        1,
    )


async def test_a_row_committed_late_is_not_skipped(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """Transaction A archives a row (drawing the lower seq) and stays open while the writer
    archives and commits a later one: the follower reads neither until A commits, then both,
    in seq order. (A writes its row itself: a second batch of the ledger's would wait for A's
    lock on the programme's account.)"""
    prog = await new_programme()
    live = config(prog)
    await stored_versions(ledger_pool, live)
    decider = Decider(live)
    await apply(ledger_pool, decider.command(visit(prog, 0, "cy")))  # the month's partition
    run = await started(ledger_pool, live)
    follower = await take_up(ledger_pool, run, chunk_rows=10)
    late_event = visit(prog, 1, "ann")
    async with ledger_pool.acquire() as late:
        transaction = late.transaction()
        await transaction.start()
        await late.execute(
            """INSERT INTO ledger.decided_events (occurred_at, programme_id, user_id, event_id,
                   event_type, programme_version, decision_status, points, awards, event,
                   outcome_status, recorded_at)
               VALUES ($1, $2, 'ann', $3, 'visit', 3, 'awarded', 10,
                       '[{"rule_id": "visit", "rule_version": 2, "kind": "earn", "points": 10}]',
                       $4::json, 'booked', now())""",
            late_event.occurred_at, prog, late_event.event_id, late_event.model_dump_json(),
        )  # fmt: skip
        await apply(ledger_pool, decider.command(visit(prog, 2, "bob")))
        assert await follow(ledger_pool, follower, chunk_rows=10, decisions_max=1_000)
        assert await decisions(ledger_pool, run.run_id) == []  # bob's row waits behind A
        await transaction.commit()
    await follow_until(ledger_pool, follower, 2)
    rows = await decisions(ledger_pool, run.run_id)
    assert [row["event_id"] for row in rows] == [late_event.event_id, visit(prog, 2).event_id]
    assert rows[0]["seq"] < rows[1]["seq"]
    assert [row["points"] for row in rows] == [10, 10]


async def test_a_stopped_run_is_let_go_and_a_full_one_stops(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    prog = await new_programme()
    live = config(prog)
    await stored_versions(ledger_pool, live)
    decider = Decider(live)
    run = await started(ledger_pool, live)
    follower = await take_up(ledger_pool, run, chunk_rows=10)
    await apply(ledger_pool, *(decider.command(visit(prog, n)) for n in (1, 2)))
    deadline = time.monotonic() + FOLLOW_WAIT_S
    while await follow(ledger_pool, follower, chunk_rows=10, decisions_max=2):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    found = await store.get(ledger_pool, run.run_id)
    assert found is not None
    assert (found.status, found.decisions) == ("stopped", 2)
    assert found.stopped_at is not None


async def test_what_was_committed_before_the_start_is_history_whatever_still_runs(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """An older transaction still open when the run starts holds the horizon back: the events
    committed before the start are still history (they build the states), not shadowed."""
    prog = await new_programme()
    live = config(prog)
    await stored_versions(ledger_pool, live)
    decider = Decider(live)
    async with ledger_pool.acquire() as old:
        transaction = old.transaction()
        await transaction.start()
        await old.fetchval("SELECT pg_current_xact_id()::text")  # holds an id, stays open
        await apply(ledger_pool, decider.command(visit(prog, 0)))
        run = await started(ledger_pool, doubled(live))
        await transaction.commit()
    await apply(ledger_pool, decider.command(visit(prog, 1)))
    follower = await take_up(ledger_pool, run, chunk_rows=10)
    await follow_until(ledger_pool, follower, 1)
    rows = await decisions(ledger_pool, run.run_id)
    assert [row["event_id"] for row in rows] == [visit(prog, 1).event_id]
    assert (rows[0]["live_points"], rows[0]["points"]) == (5, 20)  # from the history's 10


async def read_back(
    pool: asyncpg.Pool, run_id: int, since: datetime | None = None
) -> list[ShadowDecision]:
    return [d async for chunk in store.decisions(pool, run_id, since, None) for d in chunk]


async def test_every_field_of_a_decision_is_stored_once_and_read_back_as_it_was(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """The store derives its columns from `ShadowDecision`'s fields: each makes the round trip
    (texts, numbers, instants, awards by rule, tiers or none, both flags)."""
    run = await started(ledger_pool, config(await new_programme()))
    saved = [
        ShadowDecision("evt_a", 1, AT, "ada", "visit", 20, {"visit": 20}, "gold", 10,
                       {"visit": 10}, None, True, True),
        ShadowDecision("evt_b", 2, AT + timedelta(minutes=1), "bob", "order", -5,
                       {"order": -5, "visit": 0}, None, 0, {}, "silver", False, False),
    ]  # fmt: skip
    assert await store.save(ledger_pool, run.run_id, saved) == 2
    assert await store.save(ledger_pool, run.run_id, saved) == 0  # a restart's: collide
    assert await read_back(ledger_pool, run.run_id) == saved
    assert await read_back(ledger_pool, run.run_id, AT + timedelta(seconds=1)) == saved[1:]
    found = await store.get(ledger_pool, run.run_id)
    assert found is not None
    assert found.decisions == 2


def shadowed(number: int, user: str, points: int, live_points: int) -> ShadowDecision:
    return ShadowDecision(
        event_id=f"evt_sum_{number}", seq=number, occurred_at=AT + timedelta(minutes=number),
        user_id=user, event_type="visit", points=points, awards={"visit": points}, tier=None,
        live_points=live_points, live_awards={"visit": live_points}, live_tier=None,
        booked=True, reproduced=True,
    )  # fmt: skip


async def sums(pool: asyncpg.Pool, run_id: int) -> tuple[int, int, int, int]:
    found = await store.get(pool, run_id)
    assert found is not None
    return found.decisions, found.live_points, found.points, found.users_affected


async def test_a_runs_sums_follow_its_decisions_each_counted_once(
    ledger_pool: asyncpg.Pool, new_programme: ProgrammeFactory
) -> None:
    """The console lists each run's points and users affected from these sums: they must be
    what a report of the whole run adds up."""
    run = await started(ledger_pool, config(await new_programme()))
    first = [shadowed(1, "ann", 20, 10), shadowed(2, "ann", 5, 5), shadowed(3, "bob", 0, 0)]
    assert await store.save(ledger_pool, run.run_id, first) == 3
    assert await store.save(ledger_pool, run.run_id, first[1:]) == 0  # decided again: nothing
    assert await sums(ledger_pool, run.run_id) == (3, 15, 25, 1)  # ann differs

    # ann's difference undone, bob's made, cy's two decisions of one batch cancel out.
    later = [shadowed(4, "ann", -10, 0), shadowed(5, "bob", 3, 0), shadowed(6, "cy", 2, 1),
             shadowed(7, "cy", 0, 1)]  # fmt: skip
    assert await store.save(ledger_pool, run.run_id, [first[0], *later]) == 4
    assert await sums(ledger_pool, run.run_id) == (7, 17, 20, 1)  # bob only

    found = await store.get(ledger_pool, run.run_id)
    assert found is not None
    report = await shadow_report.report(ledger_pool, found)
    assert (report.events, report.current.points, report.candidate.points) == (7, 17, 20)
    assert list(report.user_changes()) == ["bob"]
