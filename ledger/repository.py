"""Apply a batch of commands in one database transaction, and fund a programme's budget.

The order inside the transaction: lock the programmes and every touched account that exists,
read the outcomes and entries the batch may repeat (unless the batch is expected to repeat
nothing), lock the usage of the budgeted rules the batch names (none in most batches), plan
(pure), insert the new accounts with their final balances, then copy the rows in and write the
other balances, the rule budgets' usage and the consumer's offsets and notify, in one statement.
Offsets commit with the bookings or not at all.
"""

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import asyncpg
from asyncpg.exceptions import InternalClientError
from asyncpg.pool import PoolConnectionProxy
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from ledger import storage
from ledger.archive import ArchiveMonths
from ledger.available import queue_available
from ledger.core.accounts import AccountKey
from ledger.core.batch import (
    BatchPlan,
    IncomingCommand,
    LedgerSnapshot,
    booking_keys,
    reversed_keys,
)
from ledger.core.budgets import needed_rule_usage
from ledger.core.columns import command_outcome_columns
from ledger.core.exceptions import ConcurrentWriteError, RetriesExhaustedError, TransientLedgerError
from ledger.core.funding import funding_accounts, funding_booking, plan_funding
from ledger.core.planner import needed_accounts, plan_batch
from ledger.core.rows import account_lots, account_pending, batch_rows, entry_record, outcome_record
from ledger.db_types import Connection
from ledger.loading import (
    AccountIds,
    LockedAccounts,
    create_accounts,
    load_entries,
    load_outcomes,
    load_programmes,
    lock_accounts,
    lock_existing_accounts,
    lock_rule_usage,
)
from ledger.returning import load_originals, store_returns
from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason

BeforeCommit = Callable[[BatchPlan], Awaitable[None]]

log = logging.getLogger(__name__)

# Only errors after which the same batch may well succeed: never a constraint violation.
_Result = TypeVar("_Result")


class ConnectionLost(Exception):
    """The database connection broke under a transaction (the server restarted or went away):
    the transaction did not commit, and a fresh connection may well succeed."""


class ConnectionUnsure(Exception):
    """asyncpg reported a state error on a connection that still looks open: it is closed (its
    transaction does not commit) and the work tried again on a fresh one, a few times."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionLost,
    ConnectionUnsure,
    TransientLedgerError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    ConnectionError,
)
# The database being away (connections lost, refused, or refused while it starts) is waited out
# for this long, however many attempts that takes, so that the writer rides out a restart of
# Postgres; the other transient errors (conflicts between writers) get `attempts_max` attempts.
DATABASE_AWAY_MAX_S = 300.0
RETRY_WAIT_MAX_S = 2.0
_DATABASE_AWAY: tuple[type[BaseException], ...] = (
    ConnectionLost,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    OSError,
)
# What asyncpg may raise when the socket closes under a running statement or COPY, besides the
# connection errors: a client-side state error ("another operation is in progress"). The pool's
# reset of such a connection fails too, and would hide the first error behind its own.
_BROKEN_CONNECTION: tuple[type[BaseException], ...] = (
    *_DATABASE_AWAY,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    InternalClientError,
)


@dataclass(frozen=True, slots=True)
class Batch:
    commands: Sequence[IncomingCommand]
    consumer_group: str | None = None
    next_offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """Next offset by (topic, partition), stored in the same transaction."""
    expect_new: bool = False
    """A hint that no command or booking of the batch is stored yet (the writer's steady state):
    the batch is then planned without reading stored outcomes and entries. The writes prove it:
    rows are copied into tables keyed by their idempotency keys, so one stored already violates
    its key (`ConcurrentWriteError`), that transaction is rolled back and the batch planned
    again the usual way."""


async def apply_batch(
    conn: Connection,
    batch: Batch,
    before_commit: BeforeCommit | None = None,
    account_ids: AccountIds | None = None,
    archive_months: ArchiveMonths | None = None,
) -> BatchPlan:
    """One transaction for the whole batch. `before_commit` runs inside it (dead letters).
    `account_ids`: ids remembered from earlier batches, extended with this one's on commit.
    `archive_months`: the archive's months known to exist (a fresh one looks them up)."""
    # Before the transaction: a new month's partition is DDL, whose lock the batch need not hold.
    await (archive_months or ArchiveMonths()).ensure(conn, batch.commands)
    if batch.expect_new:
        try:
            return await _apply(conn, batch, before_commit, account_ids, read_stored=False)
        except ConcurrentWriteError:
            pass  # rolled back: something was stored already; plan with what is stored
    return await _apply(conn, batch, before_commit, account_ids, read_stored=True)


async def _apply(
    conn: Connection,
    batch: Batch,
    before_commit: BeforeCommit | None,
    account_ids: AccountIds | None,
    *,
    read_stored: bool,
) -> BatchPlan:
    async with conn.transaction():
        commands = batch.commands
        recorded_at, programmes = await load_programmes(
            conn, (c.command.programme_id for c in commands)
        )
        accounts = await lock_existing_accounts(
            conn, needed_accounts(commands, programmes), account_ids
        )
        if read_stored:
            outcomes = await load_outcomes(conn, (c.command.command_id for c in commands))
            entries, entry_ids = await load_entries(conn, booking_keys(commands))
        else:
            # Only what reversals name; every other key is proven new by the inserts.
            outcomes = {}
            entries, entry_ids = await load_entries(conn, reversed_keys(commands))
        # After the accounts, like every writer: the same lock order everywhere.
        usage = await lock_rule_usage(conn, needed_rule_usage(commands, programmes, entries))
        originals = await load_originals(conn, commands)
        snapshot = LedgerSnapshot(
            programmes,
            accounts.balances,
            outcomes,
            entries,
            usage,
            accounts.lots,
            accounts.pending,
            originals,
        )
        plan = plan_batch(commands, snapshot, recorded_at)
        ids = accounts.ids
        if accounts.new:
            ids = ids | await _create_accounts(conn, accounts, plan)
        entry_ids_new = await storage.allocate_entry_ids(conn, len(plan.entries))
        rows = batch_rows(_existing(plan, accounts.new), ids, entry_ids, entry_ids_new, recorded_at)
        writes = storage.Writes(
            rows.outcomes,
            rows.entries,
            rows.balances,
            consumer_group=batch.consumer_group,
            next_offsets=batch.next_offsets,
            rule_usage=plan.rule_usage,
            archive=rows.archive,
            lots=rows.lots,
            lots_next_due=rows.lots_next_due,
            pending=rows.pending,
            pending_next_release=rows.pending_next_release,
        )
        await storage.write_batch(conn, writes)
        await queue_available(conn, plan.entries)
        await store_returns(conn, plan.returns)
        if before_commit is not None:
            await before_commit(plan)
    if account_ids is not None:
        account_ids.remember(ids)
    return plan


async def _create_accounts(
    conn: Connection, accounts: LockedAccounts, plan: BatchPlan
) -> dict[AccountKey, int]:
    """Insert the batch's new accounts with their planned balances, lots and pending lots (0 and
    none for one the plan leaves as it is), in key order; their ids."""
    keys = sorted(accounts.new)
    balances = {key: plan.balances.get(key, 0) for key in keys}
    lots, due = account_lots(balances, plan.lots)
    pending, release = account_pending(balances, plan.pending)
    return await create_accounts(
        conn, keys, list(balances.values()), lots, _days(due), pending, _days(release)
    )


def _days(texts: Sequence[str | None]) -> list[date | None]:
    return [None if text is None else date.fromisoformat(text) for text in texts]


def _existing(plan: BatchPlan, created: frozenset[AccountKey]) -> BatchPlan:
    """The plan without the balances of the accounts `created` with theirs: what the batch
    still writes to the accounts (`batch_rows`)."""
    if not created:
        return plan
    balances = {key: points for key, points in plan.balances.items() if key not in created}
    return plan._replace(balances=balances)


async def apply_batch_with_retries(
    pool: asyncpg.Pool,
    batch: Batch,
    before_commit: BeforeCommit | None = None,
    *,
    attempts_max: int = 5,
    backoff_s: float = 0.05,
    on_retry: Callable[[BaseException], None] | None = None,
    account_ids: AccountIds | None = None,
    archive_months: ArchiveMonths | None = None,
) -> BatchPlan:
    """Retry only transient errors, `attempts_max` times in all, backing off exponentially."""

    async def work(conn: Connection) -> BatchPlan:
        return await apply_batch(conn, batch, before_commit, account_ids, archive_months)

    return await with_retries(pool, work, "batch", attempts_max, backoff_s, on_retry)


async def with_retries(
    pool: asyncpg.Pool,
    work: Callable[[Connection], Awaitable[_Result]],
    what: str,
    attempts_max: int,
    backoff_s: float,
    on_retry: Callable[[BaseException], None] | None,
) -> _Result:
    """`work` on a pooled connection, run again on transient errors
    only, `attempts_max` times in all, backing off exponentially; `what` names it in the error
    once they are spent."""

    def retrying(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(state.outcome.exception() or RuntimeError("no exception"))

    def spent(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _DATABASE_AWAY):
            return (state.seconds_since_start or 0.0) >= DATABASE_AWAY_MAX_S
        return state.attempt_number >= attempts_max

    try:
        async for attempt in AsyncRetrying(
            stop=spent,
            wait=wait_exponential(multiplier=backoff_s, min=backoff_s, max=RETRY_WAIT_MAX_S),
            retry=retry_if_exception_type(TRANSIENT_ERRORS),
            before_sleep=retrying,
            reraise=True,
        ):
            with attempt:
                async with _pooled(pool) as conn:
                    return await work(conn)
    except TRANSIENT_ERRORS as exc:
        raise RetriesExhaustedError(f"{what} failed {attempts_max} times") from exc
    raise RetriesExhaustedError("attempts_max must be at least 1")


async def create_pool_when_up(
    url: str, *, away_max_s: float = DATABASE_AWAY_MAX_S, **options: Any
) -> asyncpg.Pool:
    """`asyncpg.create_pool(url, **options)` once the database answers: a process started
    while Postgres restarts (refused, or "the database system is starting up") waits for it,
    for up to `away_max_s`, instead of exiting. Other errors (a wrong password) are raised."""
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(away_max_s),
        wait=wait_exponential(multiplier=0.1, max=RETRY_WAIT_MAX_S),
        retry=retry_if_exception_type(_DATABASE_AWAY),
        before_sleep=lambda state: log.warning(
            "the database is away (%s); connecting again",
            state.outcome.exception() if state.outcome else None,
        ),
        reraise=True,
    ):
        with attempt:
            pool: asyncpg.Pool = await asyncpg.create_pool(url, **options)
            return pool
    raise AssertionError("unreachable: tenacity reraises")


@contextlib.asynccontextmanager
async def _pooled(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A pooled connection; one that breaks under its work is closed and the error becomes
    ConnectionLost or ConnectionUnsure (transient), so that the next attempt takes a fresh one."""
    conn = await pool.acquire()
    try:
        yield conn
    except _BROKEN_CONNECTION as exc:
        lost = not isinstance(exc, asyncpg.InterfaceError | InternalClientError)
        # A connection the server closed may have gone back to the pool already (its proxy
        # then refuses every call): nothing is left to close.
        with contextlib.suppress(asyncpg.InterfaceError):
            lost = lost or conn.is_closed()
            conn.terminate()
        with contextlib.suppress(Exception):
            await pool.release(conn)
        error = ConnectionLost if lost else ConnectionUnsure
        raise error(f"the database connection broke: {exc!r}") from exc
    except BaseException:
        await _release(pool, conn)
        raise
    await _release(pool, conn)


async def _release(pool: asyncpg.Pool, conn: PoolConnectionProxy) -> None:
    """Returns `conn` to the pool. Its reset fails when the server went away just after the
    work (Postgres restarting between the commit and the release): asyncpg then terminates it,
    and the work's outcome stands, so that error is logged, not raised (raised, it stopped the
    writer after a batch that had committed: issue 19's chaos run)."""
    try:
        await pool.release(conn)
    except _BROKEN_CONNECTION as exc:
        log.warning("a database connection broke as it went back to the pool: %r", exc)


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
        recorded_at, programmes = await load_programmes(conn, [programme_id])
        if programme_id not in programmes:
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
        columns = command_outcome_columns(
            idempotency_key, entry.payload_sha256, programme_id, None, None, None, None
        )
        entry_ids = await storage.allocate_entry_ids(conn, 1)
        ids = accounts.ids
        writes = storage.Writes(
            outcomes=[outcome_record(outcome, columns, recorded_at)],
            entries=[entry_record(entry, entry_ids[0], {}, ids, recorded_at)],
            balances={
                ids[entry.debit]: entry.debit_balance_after,
                ids[entry.credit]: entry.credit_balance_after,
            },
        )
        await storage.write_batch(conn, writes)
    return outcome.model()
