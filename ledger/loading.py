"""Load a batch's snapshot inside its transaction, with every touched account locked.

Accounts are locked `FOR UPDATE` in account-id order, in one statement, so two writers touching
the same accounts (a shared budget, both sides of a transfer) queue instead of deadlocking. The
lock goes by account id: ids the writer has seen before come from memory (`AccountIds`), the
others are looked up (or created) first. The usage rows of the budgeted rules a batch names are
locked after the accounts, in (programme, rule) order, by the same reasoning.

A batch of commands does not create its new accounts up front (`lock_existing_accounts`): it
plans them at 0 and inserts them with their final balance and lots (`create_accounts`), one
heap row each instead of an insert, a row lock and an update (an import of new users' balances
spent most of Postgres' time on those three). An account another writer created meanwhile
makes the insert refuse it (`ConcurrentWriteError`): the batch is rolled back and planned again,
and then finds it.
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

import asyncpg
import orjson

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy
from ledger.core.batch import Outcome, RuleKey, StoredEntry, StoredOutcome
from ledger.core.exceptions import ConcurrentWriteError, LedgerInvariantError
from ledger.core.expiry import ExpiryPolicy, expiry_policy
from ledger.core.lots import Lots, decode
from ledger.core.pending import Pending
from ledger.core.pending import decode as decode_pending
from ledger.db_types import Connection
from ledger.queries import get_outcome_rows, outcome_from_row
from schemas.programme import PointsExpiry


class AccountIds:
    """Account ids by key, remembered across batches: an account keeps its id for ever (the
    database refuses any change to an account's identity), so a remembered id is never stale.
    Only ids of committed accounts are added. Bounded: emptied when it would outgrow `size_max`.
    """

    def __init__(self, size_max: int = 1_000_000) -> None:
        self._ids: dict[AccountKey, int] = {}
        self._size_max = size_max

    def get(self, key: AccountKey) -> int | None:
        return self._ids.get(key)

    def remember(self, ids: Mapping[AccountKey, int]) -> None:
        known = self._ids
        new = {key: account_id for key, account_id in ids.items() if key not in known}
        if len(known) + len(new) > self._size_max:
            known.clear()
            new = dict(ids)
        known.update(new)

    def __len__(self) -> int:
        return len(self._ids)


@dataclass(frozen=True, slots=True)
class LockedAccounts:
    ids: dict[AccountKey, int]
    balances: dict[AccountKey, int]
    lots: dict[AccountKey, Lots]
    """Of the accounts that store lots (`ledger.core.lots`: absent is None)."""
    pending: dict[AccountKey, Pending]
    """Of the accounts that hold pending lots (`ledger.core.pending`: absent is None)."""
    new: frozenset[AccountKey] = frozenset()
    """Accounts that do not exist yet (`lock_existing_accounts`): in `balances` at 0, without an
    id until `create_accounts` inserts them."""


async def load_programmes(
    conn: Connection, programme_ids: Iterable[str]
) -> tuple[datetime, dict[str, ProgrammePolicy]]:
    """The transaction's time (`now()`, asked with the programmes: one round trip less) and the
    programmes, FOR SHARE: a programme's budget_mode and rule budgets cannot change under a batch
    that relies on them. Rule budgets come from the stored snapshot (a `ProgrammeConfig`): the
    `budget_max` of each rule that has one, as two JSON arrays in the same order (jsonpath: a
    few tens of microseconds for a 50-rule snapshot; `[]` for a programme without budgets)."""
    rows = await conn.fetch(
        f"""SELECT now() AS now, programme_id, budget_mode = 'funded' AS funded,
                   coalesce(config -> 'account_closure_returns_to_budget' = 'true'::jsonb, false)
                       AS closure_returns,
                   config -> 'points_expiry' AS points_expiry,
                   coalesce(config ->> 'time_zone', 'UTC') AS time_zone,
                   coalesce(config -> 'returns' ->> 'spent_points', 'shortfall') AS spent_points,
                   jsonb_path_query_array(config, '{_BUDGETED_RULES}.rule_id') AS rule_ids,
                   jsonb_path_query_array(config, '{_BUDGETED_RULES}.budget_max') AS budgets
            FROM programmes WHERE programme_id = ANY($1::text[])
            ORDER BY programme_id FOR SHARE""",
        sorted(set(programme_ids)),
    )
    now: datetime = rows[0]["now"] if rows else await conn.fetchval("SELECT now()")
    return now, {
        row["programme_id"]: ProgrammePolicy(
            row["funded"],
            row["closure_returns"],
            _rule_budgets(row["rule_ids"], row["budgets"]),
            _expiry(row["points_expiry"], row["time_zone"]),
            row["spent_points"],
        )
        for row in rows
    }


_EXPIRY_POLICIES: dict[tuple[str, str], ExpiryPolicy | None] = {}
_EXPIRY_POLICIES_MAX = 1_000


def _expiry(points_expiry: str | None, time_zone: str) -> ExpiryPolicy | None:
    """From the snapshot's `points_expiry` (jsonb text; absent in snapshots stored before it
    existed: never), parsed once per distinct text."""
    if points_expiry is None:
        return None
    key = (points_expiry, time_zone)
    if key not in _EXPIRY_POLICIES:
        if len(_EXPIRY_POLICIES) >= _EXPIRY_POLICIES_MAX:
            _EXPIRY_POLICIES.clear()
        config = PointsExpiry.model_validate_json(points_expiry)
        _EXPIRY_POLICIES[key] = expiry_policy(config, time_zone)
    return _EXPIRY_POLICIES[key]


# The snapshot's rules that have a budget (a ProgrammeConfig's `rules[*].budget_max`).
_BUDGETED_RULES = '$.rules[*] ? (@.budget_max.type() == "number" && @.rule_id.type() == "string")'


def _rule_budgets(rule_ids: str, budgets: str) -> dict[str, int]:
    """From the two JSON arrays (asyncpg hands jsonb over as text)."""
    if rule_ids == "[]":
        return {}
    return {
        str(rule_id): int(budget_max)
        for rule_id, budget_max in zip(orjson.loads(rule_ids), orjson.loads(budgets), strict=True)
    }


async def lock_rule_usage(conn: Connection, keys: set[RuleKey]) -> dict[RuleKey, int]:
    """Lock the usage rows of `keys` (creating the missing ones, at 0), in key order; returns the
    points used of each. Nothing to do, and no statement, for a batch without budgeted rules."""
    if not keys:
        return {}
    usage = await _find_or_create(conn, sorted(keys), _select_usage, _insert_usage)
    if len(usage) != len(keys):
        raise LedgerInvariantError(f"locked {len(usage)} of {len(keys)} rule budgets")
    return usage


async def _select_usage(conn: Connection, keys: Sequence[RuleKey]) -> dict[RuleKey, int]:
    rows = await conn.fetch(
        """SELECT u.programme_id, u.rule_id, u.used_points
           FROM ledger.rule_budget_usage u
           JOIN unnest($1::text[], $2::text[]) AS k(programme_id, rule_id)
             ON u.programme_id = k.programme_id AND u.rule_id = k.rule_id
           ORDER BY u.programme_id, u.rule_id FOR UPDATE OF u""",
        [key[0] for key in keys],
        [key[1] for key in keys],
    )
    return {(row[0], row[1]): row[2] for row in rows}


async def _insert_usage(conn: Connection, keys: Sequence[RuleKey]) -> dict[RuleKey, int]:
    """New rows are locked by their insert; a key another writer created meanwhile is skipped."""
    rows = await conn.fetch(
        """INSERT INTO ledger.rule_budget_usage (programme_id, rule_id)
           SELECT * FROM unnest($1::text[], $2::text[])
           ON CONFLICT DO NOTHING
           RETURNING programme_id, rule_id, used_points""",
        [key[0] for key in keys],
        [key[1] for key in keys],
    )
    return {(row[0], row[1]): row[2] for row in rows}


_Key = TypeVar("_Key")
_Rows = Callable[[Connection, Sequence[_Key]], Awaitable[dict[_Key, int]]]


async def _find_or_create(
    conn: Connection, keys: Sequence[_Key], find: _Rows[_Key], create: _Rows[_Key]
) -> dict[_Key, int]:
    """`find` the keys' rows, `create` the missing ones, and `find` again those another writer
    created in between (its insert has committed, so they are there now)."""
    found = await find(conn, keys)
    missing = [key for key in keys if key not in found]
    if missing:
        created = await create(conn, missing)
        found.update(created)
        raced = [key for key in missing if key not in created]
        if raced:
            found.update(await find(conn, raced))
    return found


def _columns(keys: Sequence[AccountKey]) -> tuple[list[str], list[str], list[str]]:
    return [k.programme_id for k in keys], [str(k.kind) for k in keys], [k.owner_id for k in keys]


_KINDS = {kind.value: kind for kind in AccountKind}


def _key(row: asyncpg.Record) -> AccountKey:
    return AccountKey(row["programme_id"], _KINDS[row["kind"]], row["owner_id"])


async def _find_ids(conn: Connection, keys: Sequence[AccountKey]) -> dict[AccountKey, int]:
    """Ids of the accounts that exist, without a lock: an account's identity never changes."""
    rows = await conn.fetch(
        """SELECT a.account_id, a.programme_id, a.kind, a.owner_id
           FROM ledger.accounts a
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(programme_id, kind, owner_id)
             ON a.programme_id = k.programme_id AND a.kind = k.kind AND a.owner_id = k.owner_id""",
        *_columns(keys),
    )
    return {_key(row): row["account_id"] for row in rows}


async def _create_missing(conn: Connection, keys: Sequence[AccountKey]) -> dict[AccountKey, int]:
    """New rows are locked by their insert; a key another writer created meanwhile is skipped."""
    rows = await conn.fetch(
        """INSERT INTO ledger.accounts (programme_id, kind, owner_id)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT DO NOTHING
           RETURNING account_id, programme_id, kind, owner_id""",
        *_columns(sorted(keys)),
    )
    return {_key(row): row["account_id"] for row in rows}


def _split_known(
    keys: Iterable[AccountKey], known: AccountIds | None
) -> tuple[dict[AccountKey, int], list[AccountKey]]:
    """(the ids `known` already has, the keys it lacks)."""
    ids: dict[AccountKey, int] = {}
    unknown: list[AccountKey] = []
    for key in keys:
        account_id = None if known is None else known.get(key)
        if account_id is None:
            unknown.append(key)
        else:
            ids[key] = account_id
    return ids, unknown


async def _resolve_ids(
    conn: Connection, keys: Iterable[AccountKey], known: AccountIds | None
) -> dict[AccountKey, int]:
    """Every key's account id: from `known`, else from the table, else created."""
    ids, unknown = _split_known(keys, known)
    if unknown:
        ids.update(await _find_or_create(conn, unknown, _find_ids, _create_missing))
    return ids


async def lock_accounts(
    conn: Connection, keys: set[AccountKey], known: AccountIds | None = None
) -> LockedAccounts:
    """Create the accounts that do not exist yet, lock all of them (in one statement, in id
    order), return ids and balances. `known`: ids seen in earlier batches (never stale, since an
    account keeps its id for ever), so that only accounts new to the writer are looked up."""
    return await _lock(conn, await _resolve_ids(conn, keys, known))


async def lock_existing_accounts(
    conn: Connection, keys: set[AccountKey], known: AccountIds | None = None
) -> LockedAccounts:
    """Lock the accounts that exist (in one statement, in id order); the others are `new`, at
    a balance of 0, for `create_accounts` to insert once the batch is planned."""
    ids, unknown = _split_known(keys, known)
    if unknown:
        ids.update(await _find_ids(conn, unknown))
    locked = await _lock(conn, ids)
    new = frozenset(key for key in unknown if key not in ids)
    if not new:
        return locked
    balances = locked.balances
    for key in new:
        balances[key] = 0
    return LockedAccounts(locked.ids, balances, locked.lots, locked.pending, new)


async def create_accounts(
    conn: Connection,
    keys: Sequence[AccountKey],
    balances: Sequence[int],
    lots: Sequence[str | None],
    lots_next_due: Sequence[date | None],
    pending: Sequence[str | None],
    pending_next_release: Sequence[date | None],
) -> dict[AccountKey, int]:
    """Insert the accounts with their balances, lots (json text) and pending lots (jsonb text),
    all aligned with `keys`; returns their ids. ConcurrentWriteError if another writer created
    one of them since the batch looked (the batch is then planned again, with it)."""
    rows = await conn.fetch(
        """INSERT INTO ledger.accounts
               (programme_id, kind, owner_id, balance, lots, lots_next_due,
                pending, pending_next_release)
           SELECT u.programme_id, u.kind, u.owner_id, u.balance, u.lots::json, u.next_due,
                  u.pending::jsonb, u.next_release
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::date[],
                       $7::text[], $8::date[])
               AS u(programme_id, kind, owner_id, balance, lots, next_due, pending, next_release)
           ON CONFLICT DO NOTHING
           RETURNING account_id, programme_id, kind, owner_id""",
        *_columns(keys),
        balances,
        lots,
        lots_next_due,
        pending,
        pending_next_release,
    )
    if len(rows) != len(keys):
        raise ConcurrentWriteError(
            f"{len(keys) - len(rows)} of {len(keys)} new accounts were created meanwhile"
        )
    return {_key(row): row["account_id"] for row in rows}


async def _lock(conn: Connection, ids: dict[AccountKey, int]) -> LockedAccounts:
    """Lock the accounts of `ids` (in one statement, in id order): their balances and lots."""
    if not ids:
        return LockedAccounts({}, {}, {}, {})
    rows = await conn.fetch(
        """SELECT account_id, balance, lots, pending FROM ledger.accounts
           WHERE account_id = ANY($1::bigint[])
           ORDER BY account_id FOR UPDATE""",
        list(ids.values()),
    )
    balance_by_id: dict[int, int] = {}
    lots_by_id: dict[int, str] = {}
    pending_by_id: dict[int, str] = {}
    for row in rows:
        balance_by_id[row[0]] = row[1]
        if row[2] is not None:
            lots_by_id[row[0]] = row[2]
        if row[3] is not None:
            pending_by_id[row[0]] = row[3]
    if len(balance_by_id) != len(ids):
        raise LedgerInvariantError(f"locked {len(balance_by_id)} of {len(ids)} accounts")
    lots: dict[AccountKey, Lots] = {}
    if lots_by_id:
        for key, account_id in ids.items():
            text = lots_by_id.get(account_id)
            held = None if text is None else decode(text)
            if held is not None:
                lots[key] = held
    pending: dict[AccountKey, Pending] = {}
    if pending_by_id:
        for key, account_id in ids.items():
            found = decode_pending(pending_by_id.get(account_id))
            if found is not None:
                pending[key] = found
    return LockedAccounts(
        ids=ids,
        balances={key: balance_by_id[account_id] for key, account_id in ids.items()},
        lots=lots,
        pending=pending,
    )


async def load_outcomes(conn: Connection, command_ids: Iterable[str]) -> dict[str, StoredOutcome]:
    """Stored outcomes with the payload digest each was recorded for (`get_outcomes` without)."""
    rows = await get_outcome_rows(conn, command_ids)
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
    wanted = list(set(keys))
    if not wanted:
        return {}, {}
    rows = await conn.fetch(
        """SELECT e.entry_id, e.idempotency_key, e.payload_sha256, e.points,
                  e.reverses_entry_id IS NOT NULL AS is_reversal,
                  CASE WHEN e.variety = 'Programme Points' AND e.transaction_type = 'Credit'
                            AND e.reverses_entry_id IS NULL THEN e.rule_id END AS award_rule_id,
                  da.programme_id AS debit_programme, da.kind AS debit_kind,
                  da.owner_id AS debit_owner, ca.programme_id AS credit_programme,
                  ca.kind AS credit_kind, ca.owner_id AS credit_owner,
                  (SELECT coalesce(sum(r.points), 0) FROM ledger.entries r
                   WHERE r.reverses_entry_id = e.entry_id) AS reversed_points
           FROM ledger.entries e
           JOIN ledger.accounts da ON da.account_id = e.debit_account_id
           JOIN ledger.accounts ca ON ca.account_id = e.credit_account_id
           WHERE e.idempotency_key = ANY($1::text[])""",
        wanted,
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
            award_rule_id=row["award_rule_id"],
        )
        for row in rows
    }
    return entries, {row["idempotency_key"]: row["entry_id"] for row in rows}
