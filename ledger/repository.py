"""Apply a batch of commands in one database transaction, and fund a programme's budget.

The order inside the transaction: lock the programmes and every touched account, read the
outcomes and entries the batch may repeat, plan (pure), write, store the consumer's offsets,
notify. Offsets commit with the bookings or not at all.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from ledger import writing
from ledger.core.batch import BatchPlan, IncomingCommand, LedgerSnapshot, PlannedEntry
from ledger.core.funding import funding_accounts, funding_booking, plan_funding
from ledger.core.planner import needed_accounts, plan_batch
from ledger.db_types import Connection
from ledger.exceptions import RetriesExhaustedError, TransientLedgerError
from ledger.loading import (
    LockedAccounts,
    load_entries,
    load_outcomes,
    load_programmes,
    lock_accounts,
)
from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason

BeforeCommit = Callable[[BatchPlan], Awaitable[None]]

# Only errors after which the same batch may well succeed: never a constraint violation.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientLedgerError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    ConnectionError,
)


@dataclass(frozen=True, slots=True)
class Batch:
    commands: Sequence[IncomingCommand]
    consumer_group: str | None = None
    next_offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """Next offset by (topic, partition), stored in the same transaction."""


async def apply_batch(
    conn: Connection, batch: Batch, before_commit: BeforeCommit | None = None
) -> BatchPlan:
    """One transaction for the whole batch. `before_commit` runs inside it (dead letters)."""
    async with conn.transaction():
        recorded_at: datetime = await conn.fetchval("SELECT now()")
        commands = batch.commands
        programmes = await load_programmes(conn, (c.command.programme_id for c in commands))
        accounts = await lock_accounts(conn, needed_accounts(commands, programmes))
        outcomes = await load_outcomes(conn, (c.command.command_id for c in commands))
        entries, entry_ids = await load_entries(conn, _booking_keys(commands))
        snapshot = LedgerSnapshot(programmes, accounts.balances, outcomes, entries)
        plan = plan_batch(commands, snapshot, recorded_at)
        await _write_plan(conn, plan, accounts, entry_ids, recorded_at)
        if batch.consumer_group is not None:
            await writing.store_offsets(conn, batch.consumer_group, batch.next_offsets)
        if before_commit is not None:
            await before_commit(plan)
    return plan


async def apply_batch_with_retries(
    pool: asyncpg.Pool,
    batch: Batch,
    before_commit: BeforeCommit | None = None,
    *,
    attempts_max: int = 5,
    backoff_s: float = 0.05,
    on_retry: Callable[[BaseException], None] | None = None,
) -> BatchPlan:
    """Retry only transient errors, a bounded number of times, backing off exponentially."""
    for attempt in range(1, attempts_max + 1):
        try:
            async with pool.acquire() as conn:
                return await apply_batch(conn, batch, before_commit)
        except TRANSIENT_ERRORS as exc:
            if attempt == attempts_max:
                raise RetriesExhaustedError(f"batch failed {attempts_max} times") from exc
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    raise RetriesExhaustedError("attempts_max must be at least 1")


def _booking_keys(commands: Sequence[IncomingCommand]) -> set[str]:
    keys: set[str] = set()
    for incoming in commands:
        for booking in incoming.command.bookings:
            keys.add(booking.idempotency_key)
            if booking.reverses is not None:
                keys.add(booking.reverses)
    return keys


async def _write_plan(
    conn: Connection,
    plan: BatchPlan,
    accounts: LockedAccounts,
    stored_entry_ids: dict[str, int],
    recorded_at: datetime,
) -> None:
    rows = [
        writing.OutcomeRow(
            payload_sha256=planned.incoming.payload_sha256,
            programme_id=planned.incoming.command.programme_id,
            user_id=planned.incoming.command.user_id,
            source_event_id=planned.incoming.command.source_event_id,
            source=planned.incoming.source,
            outcome=planned.outcome,
        )
        for planned in plan.outcomes
        if planned.is_new
    ]
    await writing.insert_outcomes(conn, rows, recorded_at)
    await _write_entries(conn, plan.entries, accounts, stored_entry_ids, recorded_at)
    await writing.update_balances(conn, plan.balances, accounts.ids)


async def _write_entries(
    conn: Connection,
    entries: Sequence[PlannedEntry],
    accounts: LockedAccounts,
    stored_entry_ids: dict[str, int],
    recorded_at: datetime,
) -> None:
    entry_ids = await writing.allocate_entry_ids(conn, len(entries))
    known_ids = dict(stored_entry_ids)
    known_ids.update(
        (entry.booking.idempotency_key, entry_id)
        for entry, entry_id in zip(entries, entry_ids, strict=True)
    )
    await writing.insert_entries(conn, entries, entry_ids, known_ids, accounts.ids, recorded_at)


async def fund_budget(
    conn: Connection,
    programme_id: str,
    points: int,
    idempotency_key: str,
    reason: str = "Budget funding",
) -> CommandOutcome:
    """Move `points` from the programme's funding account into its budget, idempotently."""
    booking = funding_booking(idempotency_key, points, reason)
    async with conn.transaction():
        recorded_at: datetime = await conn.fetchval("SELECT now()")
        if programme_id not in await load_programmes(conn, [programme_id]):
            return CommandOutcome(
                command_id=idempotency_key,
                status=OutcomeStatus.REJECTED,
                points=0,
                reason="Programme not found",
                reason_code=RejectionReason.UNKNOWN_PROGRAMME,
            )
        accounts = await lock_accounts(conn, set(funding_accounts(programme_id)))
        stored = (await load_outcomes(conn, [idempotency_key])).get(idempotency_key)
        outcome, entry = plan_funding(programme_id, booking, accounts.balances, stored, recorded_at)
        if entry is None:
            return outcome.model()
        row = writing.OutcomeRow(entry.payload_sha256, programme_id, None, None, None, outcome)
        await writing.insert_outcomes(conn, [row], recorded_at)
        await _write_entries(conn, [entry], accounts, {}, recorded_at)
        balances = {
            entry.debit: entry.debit_balance_after,
            entry.credit: entry.credit_balance_after,
        }
        await writing.update_balances(conn, balances, accounts.ids)
    return outcome.model()
