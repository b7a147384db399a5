"""A programme's balances as of an instant and its transactions of a period, as CSV files: what
the admin API, the console's download links and `loyalty-admin export-balances` /
`export-transactions` give. Any admin who sees the programme may export it, viewers too: an
export changes nothing.

The checks run when the export is asked for (`balances`, `transactions`), before any byte is
sent; the rows stream afterwards from one snapshot of the ledger (`ledger.reads`), a thousand
lines a chunk, so an export of millions of rows holds little memory.

Balances are `user_id,points`, the columns `loyalty-admin import-balances` reads: a programme's
balances load back elsewhere as opening balances. Instants are RFC 3339 in UTC.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

import asyncpg

from gateway.admin.service.actors import Actor, unknown_programme
from gateway.admin.service.errors import Invalid, NotFound
from ledger import reads

BALANCE_COLUMNS: Final = ("user_id", "points")
TRANSACTION_COLUMNS: Final = reads.JOURNAL_COLUMNS
LINES_PER_CHUNK: Final = 1_000


@dataclass(frozen=True, slots=True)
class CsvExport:
    filename: str
    as_of: datetime | None
    """The instant of a balances export."""
    chunks: Callable[[], AsyncIterator[str]]
    """The file's text, header first, in chunks of `LINES_PER_CHUNK` lines."""


async def balances(
    pool: asyncpg.Pool,
    actor: Actor,
    programme_id: str,
    as_of: datetime | None,
    *,
    now: datetime,
    include_zero: bool = False,
) -> CsvExport:
    """Every user's balance as of `as_of` (None: `now`), by user id: those with no entry by
    then are left out, and those at zero unless `include_zero`."""
    await _require_programme(pool, actor, programme_id)
    instant = now if as_of is None else _past("as_of", as_of, now)

    async def chunks() -> AsyncIterator[str]:
        async with pool.acquire() as conn:
            rows = reads.balances_as_of(conn, programme_id, instant, include_zero=include_zero)
            async for text in _csv(BALANCE_COLUMNS, rows):
                yield text

    stamp = instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return CsvExport(f"{programme_id}-balances-{stamp}.csv", instant, chunks)


async def transactions(
    pool: asyncpg.Pool,
    actor: Actor,
    programme_id: str,
    start: datetime,
    end: datetime,
) -> CsvExport:
    """The programme's journal entries recorded from `start` (included) to `end` (excluded), in
    booking order: every field of each entry (`ledger.reads.JournalEntry`)."""
    await _require_programme(pool, actor, programme_id)
    for name, instant in (("from", start), ("to", end)):
        if instant.tzinfo is None:
            raise Invalid.field(name, "an instant with its time zone (RFC 3339)")
    if end <= start:
        raise Invalid.field("to", "the period must end after it starts")

    async def chunks() -> AsyncIterator[str]:
        async with pool.acquire() as conn:
            rows = reads.transactions_between(conn, programme_id, start, end)
            async for text in _csv(TRANSACTION_COLUMNS, rows):
                yield text

    period = "-".join(i.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for i in (start, end))
    return CsvExport(f"{programme_id}-transactions-{period}.csv", None, chunks)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _require_programme(pool: asyncpg.Pool, actor: Actor, programme_id: str) -> None:
    actor.require_visible(programme_id)
    if not await pool.fetchval("SELECT true FROM programmes WHERE programme_id = $1", programme_id):
        raise NotFound(unknown_programme(programme_id))


def _past(name: str, instant: datetime, now: datetime) -> datetime:
    if instant.tzinfo is None:
        raise Invalid.field(name, "an instant with its time zone (RFC 3339)")
    if instant > now:
        raise Invalid.field(name, f"{instant.isoformat()} is in the future")
    return instant


async def _csv(
    columns: Iterable[str], rows: AsyncIterator[tuple[object, ...]]
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    lines = 1
    async for row in rows:
        writer.writerow([_cell(value) for value in row])
        lines += 1
        if lines >= LINES_PER_CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            lines = 0
    if lines:
        yield buffer.getvalue()


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value
