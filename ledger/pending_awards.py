"""Pending awards as the transaction lists show them: the award itself, with where it stands.

A pending award is booked from the programme's budget to its pending account, so it is not an
entry of the user's account and the lists that walk the account (`queries`, `user_history`)
would not show it; only its release (Points Release) would appear, later. The lists add each
award of the user as a transaction of its own, at its place in the journal, with:

- `status`: `pending` while some of it is still held; `available` once what was not cancelled
  has been released; `cancelled` when a return cancelled all of it before any release;
- `available_on` / `available_at`: while pending, the local day (and its midnight) its window
  ends (None when only a confirmation releases it); once available, when it was released;
- what of its points is still pending, was released, was cancelled.

Where it stands is read from the journal, not from the account's pending lots: the entries that
moved its points name the award (`pending_of`), released (Points Release) or cancelled (a
return's entry), so the answer is the same whether the lot is still cached or gone.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import orjson

from ledger.db_types import Executor
from schemas.ledger import Variety, day_start

AwardStatus = Literal["pending", "available", "cancelled"]


@dataclass(frozen=True, slots=True)
class PendingAward:
    """Where a pending award stands (see the module's docstring)."""

    status: AwardStatus
    points: int
    """What the award booked as pending."""
    pending_points: int
    released_points: int
    cancelled_points: int
    available_on: date | None
    available_at: datetime | None
    reference_id: str
    confirmed_by: str | None


@dataclass(frozen=True, slots=True)
class Moved:
    """What the entries naming one award moved: released, cancelled, and when the first release
    took effect (a release's lineage time: the confirmation's, or the scheduler day's midnight,
    however late the run)."""

    released: int = 0
    cancelled: int = 0
    released_at: datetime | None = None


def award_state(points: int, terms_json: str, moved: Moved, zone: ZoneInfo) -> PendingAward:
    """Pure: the award of `points` with its stored terms (`schemas.ledger.PendingTerms` as
    JSON) after the moves."""
    terms = orjson.loads(terms_json)
    release_text = terms.get("release_on")
    release_on = None if release_text is None else date.fromisoformat(release_text)
    left = points - moved.released - moved.cancelled
    status: AwardStatus
    if left > 0:
        status = "pending"
        on, at = release_on, None if release_on is None else day_start(release_on, zone)
    elif moved.released > 0:
        status = "available"
        at = moved.released_at
        on = None if at is None else at.astimezone(zone).date()
    else:
        status, on, at = "cancelled", None, None
    return PendingAward(
        status=status,
        points=points,
        pending_points=max(left, 0),
        released_points=moved.released,
        cancelled_points=moved.cancelled,
        available_on=on,
        available_at=at,
        reference_id=str(terms.get("reference_id", "")),
        confirmed_by=terms.get("confirmed_by"),
    )


def balance_before_sql(account: str, entry: str) -> str:
    """SQL for the balance of account `account` before entry `entry` (0 before its first): the
    account's last entry before it, looked up on each side's own index (entries_credit_account,
    entries_debit_account), so that an award is listed with the balance it left unchanged."""
    return f"""coalesce((
        SELECT b.balance FROM (
            (SELECT c.entry_id, c.credit_balance_after AS balance FROM ledger.entries c
             WHERE c.credit_account_id = {account} AND c.entry_id < {entry}
             ORDER BY c.entry_id DESC LIMIT 1)
            UNION ALL
            (SELECT d.entry_id, d.debit_balance_after FROM ledger.entries d
             WHERE d.debit_account_id = {account} AND d.entry_id < {entry}
             ORDER BY d.entry_id DESC LIMIT 1)
        ) b ORDER BY b.entry_id DESC LIMIT 1), 0)"""


_MOVES_SQL = f"""
    SELECT pending_of,
           coalesce(sum(points) FILTER (WHERE variety = '{Variety.POINTS_RELEASE.value}'), 0)
               AS released,
           coalesce(sum(points) FILTER (WHERE variety <> '{Variety.POINTS_RELEASE.value}'), 0)
               AS cancelled,
           min(coalesce(occurred_at, recorded_at))
               FILTER (WHERE variety = '{Variety.POINTS_RELEASE.value}') AS released_at
    FROM ledger.entries
    WHERE pending_of = ANY($1::text[])
    GROUP BY pending_of
"""


async def moves(db: Executor, award_keys: Iterable[str]) -> dict[str, Moved]:
    """What the entries naming each award moved (entries_pending_of), by award key."""
    keys = sorted(set(award_keys))
    if not keys:
        return {}
    rows = await db.fetch(_MOVES_SQL, keys)
    return {
        row["pending_of"]: Moved(int(row["released"]), int(row["cancelled"]), row["released_at"])
        for row in rows
    }


async def programme_zone(db: Executor, programme_id: str) -> ZoneInfo:
    """The programme's time zone (its local days), UTC when its configuration names none."""
    name = await db.fetchval(
        "SELECT coalesce(config ->> 'time_zone', 'UTC') FROM programmes WHERE programme_id = $1",
        programme_id,
    )
    return ZoneInfo(name or "UTC")


@dataclass(frozen=True, slots=True)
class AwardRow:
    """An award as a list found it: its entry's key, points and stored terms."""

    idempotency_key: str
    points: int
    terms_json: str


async def award_states(
    db: Executor, programme_id: str, awards: Iterable[AwardRow]
) -> Mapping[str, PendingAward]:
    """Each listed award's state, by its idempotency key (two queries for a whole page)."""
    listed = list(awards)
    if not listed:
        return {}
    moved = await moves(db, (award.idempotency_key for award in listed))
    zone = await programme_zone(db, programme_id)
    return {
        award.idempotency_key: award_state(
            award.points, award.terms_json, moved.get(award.idempotency_key, Moved()), zone
        )
        for award in listed
    }
