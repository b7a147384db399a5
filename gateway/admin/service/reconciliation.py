"""The periodic ledger reconciliation (issue 18): `loyalty-admin check-ledger`'s checks, run by the
console's process over every programme in turn, every `reconciliation_interval_s`, and shown as
gauges: mismatches by programme and check, and when the last round ended (alerts LedgerMismatch
and LedgerCheckStale, deploy/runbooks/).

Here rather than beside the ledger writer: the check is a full scan of each programme's entries
whose rows are compared in Python, and the writer's event loop is the system's ceiling; the
console's is not. Each programme is checked in its own read-only snapshot on one pooled
connection, so the others stay free for the pages. A round's findings are published together
when it ends (so a scrape never sees half a round), and stay published until a later round says
otherwise: a database away for a round keeps the last result and counts a failure.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Final, NamedTuple

import asyncpg
from prometheus_client import Counter, Gauge

from gateway.webhooks.db_errors import DATABASE_ERRORS
from ledger.reads import check_ledger

__all__ = ["MISMATCHES", "ProgrammeCheck", "publish", "reconcile", "reconciled", "reconciling"]
log = logging.getLogger(__name__)

EXAMPLES_LOGGED: Final = 3
"""Findings of each check a round logs by programme; `check-ledger --programme P` lists more."""
PROGRAMMES_MAX: Final = 1_000
"""Programmes checked per round, in id order: the series stay bounded."""

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


async def reconcile(pool: asyncpg.Pool) -> list[ProgrammeCheck]:
    """One round: every stored programme's ledger checked, each in its own snapshot."""
    rows = await pool.fetch(
        "SELECT programme_id FROM programmes ORDER BY programme_id LIMIT $1", PROGRAMMES_MAX
    )
    checks = []
    for row in rows:
        async with pool.acquire() as conn:
            report = await check_ledger(conn, row["programme_id"], examples_max=EXAMPLES_LOGGED)
        found = {result.check.value: result.found for result in report.results}
        checks.append(ProgrammeCheck(row["programme_id"], found, report.lines()))
    return checks


def publish(checks: Sequence[ProgrammeCheck], completed_at_s: float) -> None:
    """A round's findings replace the last round's at once (a removed programme's go)."""
    MISMATCHES.clear()
    for check in checks:
        for name, found in check.found.items():
            MISMATCHES.labels(check.programme_id, name).set(found)
        if any(check.found.values()):
            log.error("periodic %s", "; ".join(check.lines))
    COMPLETED.set(completed_at_s)


async def reconciling(pool: asyncpg.Pool, interval_s: float) -> None:
    """A round at once, then every `interval_s`, until cancelled."""
    while True:
        try:
            checks = await reconcile(pool)
        except DATABASE_ERRORS as exc:
            FAILURES.inc()
            log.warning("the periodic ledger check could not finish: %s", exc)
        except Exception:
            # A bug in one round must not end every later one: counted, logged whole, and the
            # next round tried as usual (the dashboard shows failed rounds).
            FAILURES.inc()
            log.exception("the periodic ledger check failed")
        else:
            publish(checks, time.time())
        await asyncio.sleep(interval_s)


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
