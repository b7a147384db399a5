"""The periodic ledger reconciliation (issue 18): `loyalty-admin check-ledger`'s checks over every
programme in turn, every `reconciliation_interval_s`, run by the consoles' processes and shown as
gauges: mismatches by programme and check, and when the last round ended (alerts LedgerMismatch
and LedgerCheckStale, deploy/runbooks/).

Here rather than beside the ledger writer: the check is a full scan of each programme's entries
whose rows are compared in Python, and the writer's event loop is the system's ceiling; the
console's is not. Each programme is checked in its own read-only snapshot on one pooled
connection, so the others stay free for the pages.

One round per interval however many consoles run: a round is a full scan, and each instance
running its own multiplied it. An instance runs a round only while it holds the round's advisory
lock and the last stored round is an interval old; it stores the findings
(`reconciliation_rounds`, migration 0202), and every instance publishes the stored round every
quarter interval, `TICK_S_MAX` at most, so all of them show the same findings within a tick of
the round's end (decision 0027).
A round's findings are published together (so a scrape never sees half a round), and stay
published until a later round says otherwise: a database away keeps the last result, and each
round it cut short is counted.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Final, NamedTuple

import asyncpg
import orjson
from prometheus_client import Counter, Gauge

from gateway.webhooks.db_errors import DATABASE_ERRORS
from ledger.reads import Connection, check_ledger

__all__ = [
    "MISMATCHES",
    "ProgrammeCheck",
    "RoundFailed",
    "StoredRound",
    "publish",
    "reconcile",
    "reconciled",
    "reconciling",
    "round_if_due",
    "stored_round",
]
log = logging.getLogger(__name__)

EXAMPLES_LOGGED: Final = 3
"""Findings of each check a round logs by programme; `check-ledger --programme P` lists more."""
PROGRAMMES_MAX: Final = 1_000
"""Programmes checked per round, in id order: the series stay bounded."""
TICK_S_MAX: Final = 60.0
"""How often at most an instance publishes the stored round and sees whether one is due."""
LOCK_KEY: Final = "periodic-ledger-check"
"""The advisory lock (`hashtextextended`) held by the instance running a round."""

MISMATCHES = Gauge(
    "loyalty_reconciliation_mismatches",
    "Mismatches the last periodic ledger check found, by programme and check (balances, double "
    "entry, outcomes, floors, lots, pending); exported by the console's process",
    ["programme", "check"],
)
COMPLETED = Gauge(
    "loyalty_reconciliation_completed_timestamp_seconds",
    "When the last round of the periodic ledger check ended (every programme checked)",
)
FAILURES = Counter(
    "loyalty_reconciliation_failures_total",
    "Rounds of the periodic ledger check that could not finish (the database away)",
)


class ProgrammeCheck(NamedTuple):
    programme_id: str
    found: dict[str, int]
    """Mismatches by check, every check named (0 when clean)."""
    lines: list[str]
    """The report as `check-ledger` prints it."""


class StoredRound(NamedTuple):
    """The last round any instance finished, as stored."""

    rounds: int
    """Rounds finished so far, by every instance."""
    completed_at_s: float
    found: dict[str, dict[str, int]]
    """Mismatches by programme, then by check."""


async def reconcile(conn: Connection) -> list[ProgrammeCheck]:
    """One round: every stored programme's ledger checked, each in its own snapshot."""
    rows = await conn.fetch(
        "SELECT programme_id FROM programmes ORDER BY programme_id LIMIT $1", PROGRAMMES_MAX
    )
    checks = []
    for row in rows:
        report = await check_ledger(conn, row["programme_id"], examples_max=EXAMPLES_LOGGED)
        found = {result.check.value: result.found for result in report.results}
        checks.append(ProgrammeCheck(row["programme_id"], found, report.lines()))
    return checks


class RoundFailed(Exception):
    """A round this instance started (it held the lock, the round was due) did not finish; the
    cause is chained."""


async def round_if_due(pool: asyncpg.Pool, interval_s: float) -> StoredRound | None:
    """Runs and stores a round if none is running (the lock) and the last one stored is
    `interval_s` old or there is none; the round as stored if it ran one. Its findings are
    logged here, once.
    Raises `RoundFailed` if the round started and did not finish; an error before it started
    (the lock, the age) as it is."""
    async with pool.acquire() as conn:
        if not await conn.fetchval(_TRY_LOCK, LOCK_KEY):
            return None  # another instance is running one
        # Unlocked below; after a failure or a cancellation the pool's reset of the connection
        # (asyncpg's pg_advisory_unlock_all) or the connection's end lets go of the lock.
        age_s = await conn.fetchval(_AGE)
        if age_s is not None and age_s < interval_s:
            await conn.execute(_UNLOCK, LOCK_KEY)
            return None
        try:
            checks = await reconcile(conn)
            findings = {check.programme_id: check.found for check in checks}
            row = await conn.fetchrow(_STORE, orjson.dumps(findings).decode())
            if row is None:
                raise RuntimeError("storing the round returned no row")
        except Exception as exc:
            raise RoundFailed(str(exc)) from exc
        await conn.execute(_UNLOCK, LOCK_KEY)
    for check in checks:
        if any(check.found.values()):
            log.error("periodic %s", "; ".join(check.lines))
    return StoredRound(row["rounds"], row["completed_at_s"], findings)


_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"
_AGE = "SELECT extract(epoch FROM now() - completed_at)::float8 FROM reconciliation_rounds"
_STORE = """
INSERT INTO reconciliation_rounds (rounds, completed_at, findings)
VALUES (1, clock_timestamp(), $1::text::jsonb)
ON CONFLICT (one_row) DO UPDATE
SET rounds = reconciliation_rounds.rounds + 1,
    completed_at = excluded.completed_at,
    findings = excluded.findings
RETURNING rounds, extract(epoch FROM completed_at)::float8 AS completed_at_s
"""


async def stored_round(pool: asyncpg.Pool) -> StoredRound | None:
    row = await pool.fetchrow(
        "SELECT rounds, extract(epoch FROM completed_at)::float8 AS completed_at_s,"
        " findings::text AS findings FROM reconciliation_rounds"
    )
    if row is None:
        return None
    found: dict[str, dict[str, int]] = orjson.loads(row["findings"])
    return StoredRound(row["rounds"], row["completed_at_s"], found)


def publish(found: Mapping[str, Mapping[str, int]], completed_at_s: float) -> None:
    """A round's findings replace the last round's at once (a removed programme's go)."""
    MISMATCHES.clear()
    for programme_id, checks in found.items():
        for name, mismatches in checks.items():
            MISMATCHES.labels(programme_id, name).set(mismatches)
    COMPLETED.set(completed_at_s)


async def reconciling(pool: asyncpg.Pool, interval_s: float) -> None:
    """Every tick until cancelled: the stored round published, then a round if one is due (at
    once at a first start) and, if this instance ran it, its findings published. A round that
    fails is counted, and this instance tries the next one an interval later; an error before
    a round starts (the database away) is logged and tried again at the next tick."""
    # A round runs between one interval and one interval and a tick after the last.
    tick_s = min(interval_s / 4, TICK_S_MAX)
    next_try = 0.0
    while True:
        await _publish_stored(pool)
        if time.monotonic() >= next_try:
            ran, next_try = await _try_round(pool, interval_s)
            if ran is not None:
                publish(ran.found, ran.completed_at_s)
        await asyncio.sleep(tick_s)


async def _publish_stored(pool: asyncpg.Pool) -> None:
    try:
        last = await stored_round(pool)
    except DATABASE_ERRORS as exc:
        log.warning("the periodic ledger check's last round could not be read: %s", exc)
    except Exception:  # a bug here must not end the rounds: logged whole, tried next tick
        log.exception("the periodic ledger check's last round could not be read")
    else:
        if last is not None:
            publish(last.found, last.completed_at_s)


async def _try_round(pool: asyncpg.Pool, interval_s: float) -> tuple[StoredRound | None, float]:
    """The round this instance ran, if any, and when it may try one again (monotonic seconds;
    0.0: at the next tick)."""
    try:
        return await round_if_due(pool, interval_s), 0.0
    except RoundFailed as failed:
        FAILURES.inc()
        if isinstance(failed.__cause__, DATABASE_ERRORS):
            log.warning("the periodic ledger check could not finish: %s", failed)
        else:
            # A bug in one round must not end every later one: counted, logged whole, and the
            # next round tried as usual (the dashboard shows failed rounds).
            log.error("the periodic ledger check failed", exc_info=failed.__cause__)
        return None, time.monotonic() + interval_s
    except DATABASE_ERRORS as exc:
        log.warning("the periodic ledger check could not see whether a round is due: %s", exc)
    except Exception:
        log.exception("the periodic ledger check could not see whether a round is due")
    return None, 0.0


@contextlib.asynccontextmanager
async def reconciled(pool: asyncpg.Pool, interval_s: float) -> AsyncIterator[None]:
    """`reconciling` as a background task for the console's lifetime; a round in progress at
    the end is cancelled (it only reads)."""
    task = asyncio.create_task(reconciling(pool, interval_s), name="reconciliation")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
