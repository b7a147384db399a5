"""Prove the balances: recompute every account from its journal entries.

The ledger is consistent when no cached balance disagrees with its entries, every entry's
balance-after follows from the one before it on the same account, and all balances sum to zero.
"""

from dataclasses import dataclass

from ledger.db_types import Connection


@dataclass(frozen=True, slots=True)
class CheckReport:
    balance_mismatches: list[tuple[int, int, int, int]]
    """(account_id, cached, from entries, latest balance-after)"""
    running_balance_breaks: list[tuple[int, int, int, int]]
    """(account_id, entry_id, balance-after, expected)"""
    sum_of_balances: int
    accounts: int
    entries: int

    @property
    def ok(self) -> bool:
        return (
            not self.balance_mismatches
            and not self.running_balance_breaks
            and (self.sum_of_balances == 0)
        )


_LIMIT_ROWS = 100


async def check_ledger(conn: Connection) -> CheckReport:
    """Runs in one repeatable-read snapshot so that a writer busy meanwhile cannot skew it."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        mismatches = await conn.fetch(
            "SELECT * FROM ledger.balance_mismatches() LIMIT $1", _LIMIT_ROWS
        )
        breaks = await conn.fetch(
            "SELECT * FROM ledger.running_balance_breaks() LIMIT $1", _LIMIT_ROWS
        )
        totals = await conn.fetchrow(
            """SELECT coalesce(sum(balance), 0)::bigint AS total, count(*) AS accounts,
                      (SELECT count(*) FROM ledger.entries) AS entries
               FROM ledger.accounts"""
        )
    if totals is None:
        raise RuntimeError("aggregate query returned no row")
    return CheckReport(
        balance_mismatches=[tuple(row.values()) for row in mismatches],
        running_balance_breaks=[tuple(row.values()) for row in breaks],
        sum_of_balances=totals["total"],
        accounts=totals["accounts"],
        entries=totals["entries"],
    )
