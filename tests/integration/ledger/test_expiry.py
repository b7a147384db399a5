"""Expiry runs on the real Postgres (ledger.lifecycle): lots booked by real batches expire at
the programme's midnight, in bounded chunks, each lot once, whatever stops a run or repeats it;
webhooks are queued for the expired points and for those about to expire."""

import uuid
from datetime import UTC, date, datetime

import asyncpg
import orjson
import pytest

from ledger.core.batch import PlannedEntry
from ledger.core.expiring import IncomingLifecycle
from ledger.core.lots import decode
from ledger.core.rows import movement
from ledger.lifecycle import RunProgress, apply_lifecycle
from schemas.ledger import (
    LifecycleAction,
    LifecycleCommand,
    Lineage,
    OutcomeStatus,
    RejectionReason,
    Variety,
)
from tests.integration.ledger.conftest import apply, assert_consistent
from tests.unit.ledger.fixtures import booking, command

pytestmark = pytest.mark.integration

EXPIRY = {"policy": "days_after_earning", "days": 10, "notice_days": 3}


async def expiring_programme(
    pool: asyncpg.Pool, expiry: dict[str, object] = EXPIRY, time_zone: str = "Africa/Accra"
) -> str:
    programme_id = f"p-{uuid.uuid4().hex[:12]}"
    config = {"points_expiry": expiry, "time_zone": time_zone}
    await pool.execute(
        """INSERT INTO programmes (programme_id, name, budget_mode, config, config_version)
           VALUES ($1, $1, 'unfunded', $2::jsonb, 1)""",
        programme_id,
        orjson.dumps(config).decode(),
    )
    return programme_id


async def earn(pool: asyncpg.Pool, prog: str, user: str, points: int, on: date) -> None:
    key = f"{prog}-{user}-{uuid.uuid4().hex[:8]}"
    at = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    earned = booking(key, points).model_copy(update={"lineage": Lineage(occurred_at=at)})
    [outcome] = await apply(pool, command(key, user, earned, programme_id=prog))
    assert outcome.status is OutcomeStatus.BOOKED


def expire(prog: str, day: date, effective_at: datetime | None = None) -> IncomingLifecycle:
    return IncomingLifecycle.of(
        LifecycleCommand(
            command_id=f"expire:{prog}:{day}",
            programme_id=prog,
            action=LifecycleAction.EXPIRE_POINTS,
            local_day=day,
            effective_at=effective_at or datetime(day.year, day.month, day.day, tzinfo=UTC),
        )
    )


async def user_state(pool: asyncpg.Pool, prog: str, user: str) -> tuple[int, object]:
    row = await pool.fetchrow(
        """SELECT balance, lots::text FROM ledger.accounts
           WHERE programme_id = $1 AND kind = 'user' AND owner_id = $2""",
        prog,
        user,
    )
    assert row is not None
    return row[0], decode(row[1])


async def test_due_lots_expire_once_in_chunks_and_the_rest_stay(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool)
    for index in range(7):
        user = f"u{index}"
        await earn(ledger_pool, prog, user, 10 + index, date(2026, 3, 1))  # due 2026-03-11
        await earn(ledger_pool, prog, user, 5, date(2026, 3, 2))  # due 2026-03-12
        await earn(ledger_pool, prog, user, 100, date(2026, 3, 20))  # due 2026-03-30
    redeem = booking(f"{prog}-spend", 12, debit=True, variety=Variety.REDEMPTION)
    await apply(ledger_pool, command(f"{prog}-spend", "u0", redeem, programme_id=prog))

    chunks: list[int] = []

    async def seen(entries: list[PlannedEntry], progress: RunProgress) -> None:
        chunks.append(len(entries))

    report = await apply_lifecycle(
        ledger_pool, expire(prog, date(2026, 3, 12)), chunk_accounts_max=3, on_chunk=seen
    )
    assert chunks == [3, 3, 1]
    assert report.outcome.status is OutcomeStatus.BOOKED
    # u0 spent 12 of its 15 due points first (earliest-expiring first): 3 left to expire.
    expected_points = 3 + sum(10 + index + 5 for index in range(1, 7))
    assert report.progress == RunProgress(3, 7, 13, expected_points, 0)
    assert await user_state(ledger_pool, prog, "u0") == (100, (("2026-03-30", 100),))
    assert await user_state(ledger_pool, prog, "u6") == (100, (("2026-03-30", 100),))
    expired_total = await ledger_pool.fetchval(
        """SELECT balance FROM ledger.accounts WHERE programme_id = $1 AND kind = 'expired'""",
        prog,
    )
    assert expired_total == expected_points
    entries = await ledger_pool.fetch(
        """SELECT idempotency_key, variety, points, debit_lots::text AS lots, debit_lot_day
           FROM ledger.entries WHERE command_id = $1 ORDER BY idempotency_key""",
        f"expire:{prog}:2026-03-12",
    )
    assert [row["idempotency_key"] for row in entries] == [
        f"expire:{prog}:2026-03-12:u{index}" for index in range(7)
    ]
    assert {row["variety"] for row in entries} == {"Points Expiry"}
    # One lot of all its points: journalled as its day alone (migration 0201).
    first = entries[0]
    assert (first["lots"], first["debit_lot_day"]) == (None, date(2026, 3, 12))
    assert movement(decode(first["lots"]), first["debit_lot_day"], first["points"]) == (
        ("2026-03-12", 3),
    )

    again = await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 12)))
    assert again.outcome.status is OutcomeStatus.DUPLICATE
    assert (again.entries, again.is_new) == ([], False)
    later = await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 13)))
    assert later.progress.lots == 0  # nothing due: nothing expires twice
    await assert_consistent(ledger_pool)


async def test_a_run_stopped_between_chunks_continues_and_expires_each_lot_once(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool)
    for index in range(10):
        await earn(ledger_pool, prog, f"u{index}", 7, date(2026, 3, 1))

    class Stop(Exception):
        pass

    async def stop_after_first(entries: list[PlannedEntry], progress: RunProgress) -> None:
        raise Stop

    day = date(2026, 3, 11)
    with pytest.raises(Stop):
        await apply_lifecycle(
            ledger_pool, expire(prog, day), chunk_accounts_max=4, on_chunk=stop_after_first
        )
    finished = await ledger_pool.fetchval(
        "SELECT finished_at FROM ledger.lifecycle_runs WHERE command_id = $1",
        f"expire:{prog}:{day}",
    )
    assert finished is None
    await assert_consistent(ledger_pool)  # the outcome came with the first chunk
    resumed = await apply_lifecycle(ledger_pool, expire(prog, day), chunk_accounts_max=4)
    assert resumed.progress == RunProgress(3, 10, 10, 70, 0)
    assert len(resumed.entries) == 6
    counted = await ledger_pool.fetchval(
        "SELECT count(*) FROM ledger.entries WHERE command_id = $1", f"expire:{prog}:{day}"
    )
    assert counted == 10
    await assert_consistent(ledger_pool)


async def test_the_same_command_id_for_another_day_is_a_conflict(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool)
    await earn(ledger_pool, prog, "u", 7, date(2026, 3, 1))
    await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 11)))
    other = expire(prog, date(2026, 3, 11), datetime(2026, 3, 11, 1, tzinfo=UTC))
    report = await apply_lifecycle(ledger_pool, other)
    assert report.outcome.reason_code is RejectionReason.IDEMPOTENCY_CONFLICT
    assert not report.is_new


async def test_an_unknown_programme_is_refused(ledger_pool: asyncpg.Pool) -> None:
    report = await apply_lifecycle(ledger_pool, expire("no-such-programme", date(2026, 3, 1)))
    assert report.outcome.reason_code is RejectionReason.UNKNOWN_PROGRAMME
    stored = await ledger_pool.fetchval(
        "SELECT status FROM ledger.command_outcomes WHERE command_id = $1",
        "expire:no-such-programme:2026-03-01",
    )
    assert stored == "rejected"


async def test_webhooks_for_expired_points_and_for_points_about_to_expire(
    ledger_pool: asyncpg.Pool,
) -> None:
    prog = await expiring_programme(ledger_pool)
    subscription = f"s-{uuid.uuid4().hex[:10]}"
    await ledger_pool.execute(
        """INSERT INTO webhook_subscriptions (subscription_id, programme_id, url, secret,
                                              event_types)
           VALUES ($1, $2, 'http://127.0.0.1:9/hook', $3, $4)""",
        subscription,
        prog,
        "s" * 40,
        ["points.expired", "points.expiring"],
    )
    await earn(ledger_pool, prog, "alice", 20, date(2026, 3, 1))  # due 2026-03-11
    await earn(ledger_pool, prog, "alice", 8, date(2026, 3, 4))  # due 2026-03-14: notice 3/11
    await earn(ledger_pool, prog, "bob", 9, date(2026, 3, 5))  # due 2026-03-15
    report = await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 11)))
    assert report.progress.notices == 1
    rows = await ledger_pool.fetch(
        """SELECT event_type, command_id, payload FROM webhook_deliveries
           WHERE subscription_id = $1 ORDER BY event_type""",
        subscription,
    )
    by_type = {row["event_type"]: orjson.loads(row["payload"]) for row in rows}
    assert set(by_type) == {"points.expired", "points.expiring"}
    expired = by_type["points.expired"]
    assert (expired["user_id"], expired["points"], expired["balance"]) == ("alice", 20, 8)
    assert expired["lots"] == [["2026-03-11", 20]]
    expiring = by_type["points.expiring"]
    assert (expiring["user_id"], expiring["points"]) == ("alice", 8)
    assert expiring["expires_at"].startswith("2026-03-14T00:00:00")
    await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 11)))
    count = await ledger_pool.fetchval(
        "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = $1", subscription
    )
    assert count == 2  # a repeated command sends nothing again


async def test_a_late_run_expires_what_earlier_days_left_due(ledger_pool: asyncpg.Pool) -> None:
    prog = await expiring_programme(ledger_pool)
    await earn(ledger_pool, prog, "u", 7, date(2026, 3, 1))
    await earn(ledger_pool, prog, "u", 3, date(2026, 3, 3))
    report = await apply_lifecycle(ledger_pool, expire(prog, date(2026, 3, 20)))
    assert (report.progress.lots, report.progress.points) == (2, 10)
    assert await user_state(ledger_pool, prog, "u") == (0, None)
    await assert_consistent(ledger_pool)
