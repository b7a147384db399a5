"""The ledger's past: a user's balance as of any instant, a programme's balances as of one, a
programme's transactions of a period, and which idempotency keys are booked (an import reads its
rows back by them).

As of T means: the entries recorded at or before T (`recorded_at`, the time of the booking's
transaction). Every entry keeps each account's balance after it, so a balance as of T is the
balance after the account's last such entry, in the order the writer booked them (entry ids:
an account's entries are booked under its row lock, so their balances after follow that
order). It is found through the indexes
of 0002 (`entries_credit_account`, `entries_debit_account`), as a page of its transactions
is: as much work as the account has entries, whatever the size of the ledger, and no index
more for the writer to keep. A programme's balances as of T (an export) are one pass over its
entries recorded by then. Where two writers' transactions overlap on one account (a
programme's budget, a command booking for many users), `recorded_at`, taken when each began,
may step back by as long as one waited for the other's lock: T inside that overlap sees the
later entry's balance.

The programme-wide reads run in one repeatable-read, read-only transaction and stream through a
cursor: an export of millions of rows holds one consistent snapshot and bounded memory.
"""

from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from typing import Final, NamedTuple

from ledger.db_types import Connection, Executor
from ledger.queries import get_outcome_rows, outcome_from_row
from schemas.ledger import CommandOutcome

PREFETCH_ROWS: Final = 2_000
KEYS_PER_QUERY_MAX: Final = 10_000


_USER_ACCOUNT = """
    SELECT account_id FROM ledger.accounts
    WHERE programme_id = $1 AND kind = 'user' AND owner_id = $2
"""


# The balance after the account's last entry at or before $1, from whichever side it was on.
# The account id is written into the statement, never a parameter: the planner then estimates
# its entries from the statistics of that very value and reads them through the account
# indexes, as `ledger.queries` reads a transactions page. With a parameter, the generic plan a
# prepared statement falls back to after five runs assumes an average account, and where every
# debit comes from the budget that is millions of entries: it walks the primary key back
# through the whole journal (80 ms at 200,000 entries, seconds at ten million).
def _account_balance_as_of_sql(account_id: int) -> str:
    account = int(account_id)  # an integer only, written as digits
    return f"""
    SELECT CASE WHEN e.credit_account_id = {account} THEN e.credit_balance_after
                ELSE e.debit_balance_after END
    FROM ledger.entries e
    WHERE (e.credit_account_id = {account} OR e.debit_account_id = {account})
      AND e.recorded_at <= $1
    ORDER BY e.entry_id DESC LIMIT 1
"""


# Every user's balance after their last entry by then: one pass over the programme's entries
# recorded by then (an export, run now and then), each account's last one kept. Users with no
# entry by then are left out, and those at zero unless asked for; in user id order.
_BALANCES_AS_OF = """
    WITH sides AS (
        SELECT e.credit_account_id AS account_id, e.entry_id, e.credit_balance_after AS balance
        FROM ledger.entries e WHERE e.programme_id = $1 AND e.recorded_at <= $2
        UNION ALL
        SELECT e.debit_account_id, e.entry_id, e.debit_balance_after
        FROM ledger.entries e WHERE e.programme_id = $1 AND e.recorded_at <= $2
    ), last AS (
        SELECT DISTINCT ON (account_id) account_id, balance
        FROM sides ORDER BY account_id, entry_id DESC
    )
    SELECT a.owner_id AS user_id, last.balance
    FROM last JOIN ledger.accounts a ON a.account_id = last.account_id
    WHERE a.kind = 'user' AND (last.balance <> 0 OR $3)
    ORDER BY a.owner_id
"""

# Columns of a transactions export, in order (`JournalEntry`). The balance after is the one of
# the booking's own account: the user's (credited by a Credit, debited by a Debit), or the
# programme budget's for a funding, which names no user.
_TRANSACTIONS = """
    SELECT e.entry_id, e.recorded_at, e.occurred_at, e.user_id, e.transaction_type, e.variety,
           e.points,
           CASE WHEN e.transaction_type = 'Credit' THEN e.credit_balance_after
                ELSE e.debit_balance_after END AS balance_after,
           e.counterparty_user_id, e.reason, e.idempotency_key, e.command_id,
           e.remote_transaction_id, e.source_event_id, e.rule_id, e.rule_version,
           r.idempotency_key AS reverses, e.expires_on
    FROM ledger.entries e
    LEFT JOIN ledger.entries r ON r.entry_id = e.reverses_entry_id
    WHERE e.programme_id = $1 AND e.recorded_at >= $2 AND e.recorded_at < $3
    ORDER BY e.entry_id
"""


class UserBalance(NamedTuple):
    user_id: str
    balance: int


class JournalEntry(NamedTuple):
    """One journal entry as a transactions export lists it."""

    entry_id: int
    recorded_at: datetime
    occurred_at: datetime | None
    user_id: str | None
    transaction_type: str
    variety: str
    points: int
    balance_after: int
    """Of the booking's own account: its user's, or the budget's for a funding."""
    counterparty_user_id: str | None
    reason: str
    idempotency_key: str
    command_id: str
    remote_transaction_id: str | None
    source_event_id: str | None
    rule_id: str | None
    rule_version: int | None
    reverses: str | None
    """The idempotency key of the entry this one corrects."""
    expires_on: date | None


JOURNAL_COLUMNS: Final = JournalEntry._fields


async def balance_as_of(
    db: Executor, programme_id: str, user_id: str, as_of: datetime
) -> int | None:
    """The user's points as of `as_of`: 0 before their first entry; None for a user the
    programme's ledger has never booked for (as `queries.find_balance`)."""
    account_id = await db.fetchval(_USER_ACCOUNT, programme_id, user_id)
    if account_id is None:
        return None
    balance = await db.fetchval(_account_balance_as_of_sql(account_id), as_of)
    return 0 if balance is None else int(balance)


async def balances_as_of(
    conn: Connection, programme_id: str, as_of: datetime, *, include_zero: bool = False
) -> AsyncIterator[UserBalance]:
    """Every user's balance as of `as_of`, by user id, from one snapshot; users without an entry
    by then are left out, and users at zero unless `include_zero`."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = conn.cursor(
            _BALANCES_AS_OF, programme_id, as_of, include_zero, prefetch=PREFETCH_ROWS
        )
        async for row in rows:
            yield UserBalance(row[0], int(row[1]))


async def transactions_between(
    conn: Connection, programme_id: str, start: datetime, end: datetime
) -> AsyncIterator[JournalEntry]:
    """The programme's entries recorded from `start` (included) to `end` (excluded), in booking
    order, from one snapshot."""
    if end <= start:
        raise ValueError(f"the period ends ({end.isoformat()}) before it starts")
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = conn.cursor(_TRANSACTIONS, programme_id, start, end, prefetch=PREFETCH_ROWS)
        async for row in rows:
            yield JournalEntry(*row.values())


async def booked_keys(db: Executor, keys: Iterable[str]) -> dict[str, bytes]:
    """The payload digest of each key booked already (keys not booked are left out), at most
    `KEYS_PER_QUERY_MAX` keys per call."""
    wanted = list(set(keys))
    if len(wanted) > KEYS_PER_QUERY_MAX:
        raise ValueError(f"at most {KEYS_PER_QUERY_MAX} keys at once, not {len(wanted)}")
    if not wanted:
        return {}
    rows = await db.fetch(
        """SELECT idempotency_key, payload_sha256 FROM ledger.entries
           WHERE idempotency_key = ANY($1::text[])""",
        wanted,
    )
    return {row[0]: bytes(row[1]) for row in rows}


async def stored_outcomes(
    db: Executor, command_ids: Iterable[str]
) -> dict[str, tuple[bytes, CommandOutcome]]:
    """The stored outcome of each command id recorded, with the payload digest it was recorded
    for (`reads.command_digest` of the command): the same id with another digest is another
    command."""
    rows = await get_outcome_rows(db, command_ids)
    return {
        row["command_id"]: (bytes(row["payload_sha256"]), outcome_from_row(row)) for row in rows
    }
