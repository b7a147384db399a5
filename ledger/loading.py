"""Load a batch's snapshot inside its transaction, with every touched account locked.

Accounts are locked `FOR UPDATE` in account-id order, so two writers touching the same accounts
(a shared budget, both sides of a transfer) queue instead of deadlocking.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import Outcome, StoredEntry, StoredOutcome
from ledger.db_types import Connection
from ledger.queries import OUTCOME_COLUMNS, outcome_from_row


@dataclass(frozen=True, slots=True)
class LockedAccounts:
    ids: dict[AccountKey, int]
    balances: dict[AccountKey, int]


async def load_programmes(
    conn: Connection, programme_ids: Iterable[str]
) -> dict[str, ProgrammePolicy]:
    """FOR SHARE: a programme's budget_mode cannot change under a batch that relies on it."""
    rows = await conn.fetch(
        """SELECT programme_id, budget_mode = 'funded' AS funded,
                  coalesce(config -> 'account_closure_returns_to_budget' = 'true'::jsonb, false)
                      AS closure_returns
           FROM programmes WHERE programme_id = ANY($1::text[])
           ORDER BY programme_id FOR SHARE""",
        sorted(set(programme_ids)),
    )
    return {
        row["programme_id"]: ProgrammePolicy(row["funded"], row["closure_returns"]) for row in rows
    }


def _columns(keys: Sequence[AccountKey]) -> tuple[list[str], list[str], list[str]]:
    return [k.programme_id for k in keys], [str(k.kind) for k in keys], [k.owner_id for k in keys]


_KINDS = {kind.value: kind for kind in AccountKind}


def _key(row: asyncpg.Record) -> AccountKey:
    return AccountKey(row["programme_id"], _KINDS[row["kind"]], row["owner_id"])


async def _lock_existing(conn: Connection, keys: Sequence[AccountKey]) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT a.account_id, a.programme_id, a.kind, a.owner_id, a.balance
           FROM ledger.accounts a
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(programme_id, kind, owner_id)
             ON a.programme_id = k.programme_id AND a.kind = k.kind AND a.owner_id = k.owner_id
           ORDER BY a.account_id FOR UPDATE OF a""",
        *_columns(keys),
    )


async def _create_missing(conn: Connection, keys: Sequence[AccountKey]) -> list[asyncpg.Record]:
    """New rows are locked by their insert; a key another writer created meanwhile is skipped."""
    return await conn.fetch(
        """INSERT INTO ledger.accounts (programme_id, kind, owner_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT DO NOTHING
           RETURNING account_id, programme_id, kind, owner_id, balance""",
        *_columns(sorted(keys)),
    )


async def lock_accounts(conn: Connection, keys: set[AccountKey]) -> LockedAccounts:
    """Create the accounts that do not exist yet, lock all of them, return ids and balances."""
    rows = list(await _lock_existing(conn, list(keys)))
    missing = keys - {_key(row) for row in rows}
    if missing:
        created = await _create_missing(conn, list(missing))
        rows.extend(created)
        raced = missing - {_key(row) for row in created}
        if raced:
            rows.extend(await _lock_existing(conn, list(raced)))
    keyed = [(_key(row), row) for row in rows]
    return LockedAccounts(
        ids={key: row["account_id"] for key, row in keyed},
        balances={key: row["balance"] for key, row in keyed},
    )


async def load_outcomes(conn: Connection, command_ids: Iterable[str]) -> dict[str, StoredOutcome]:
    rows = await conn.fetch(
        f"SELECT {OUTCOME_COLUMNS} FROM ledger.command_outcomes WHERE command_id = ANY($1::text[])",
        list(set(command_ids)),
    )
    return {
        row["command_id"]: StoredOutcome(
            bytes(row["payload_sha256"]), Outcome(**outcome_from_row(row).model_dump())
        )
        for row in rows
    }


async def load_entries(
    conn: Connection, keys: Iterable[str]
) -> tuple[dict[str, StoredEntry], dict[str, int]]:
    """Stored entries by idempotency key, with what has been reversed of each, and their ids."""
    rows = await conn.fetch(
        """SELECT e.entry_id, e.idempotency_key, e.payload_sha256, e.points,
                  e.reverses_entry_id IS NOT NULL AS is_reversal,
                  da.programme_id AS debit_programme, da.kind AS debit_kind,
                  da.owner_id AS debit_owner, ca.programme_id AS credit_programme,
                  ca.kind AS credit_kind, ca.owner_id AS credit_owner,
                  (SELECT coalesce(sum(r.points), 0) FROM ledger.entries r
                   WHERE r.reverses_entry_id = e.entry_id) AS reversed_points
           FROM ledger.entries e
           JOIN ledger.accounts da ON da.account_id = e.debit_account_id
           JOIN ledger.accounts ca ON ca.account_id = e.credit_account_id
           WHERE e.idempotency_key = ANY($1::text[])""",
        list(set(keys)),
    )
    entries = {
        row["idempotency_key"]: StoredEntry(
            payload_sha256=bytes(row["payload_sha256"]),
            debit=AccountKey(
                row["debit_programme"], AccountKind(row["debit_kind"]), row["debit_owner"]
            ),
            credit=AccountKey(
                row["credit_programme"], AccountKind(row["credit_kind"]), row["credit_owner"]
            ),
            points=row["points"],
            is_reversal=row["is_reversal"],
            reversed_points=int(row["reversed_points"]),
        )
        for row in rows
    }
    return entries, {row["idempotency_key"]: row["entry_id"] for row in rows}
