"""What a batch's returns need from the database (`ledger.core.returns`), read inside its
transaction, and the rows of the returns it books (ledger.returns).

An original is found through its awards' keys (`event_id:rule_id`, indexed), its outcome (keyed
by its event id) and, for its amount, its archived event: the archive is partitioned by the
event's month, and the awards carry the event's time, so the lookup reads one month."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ledger.core.batch import IncomingCommand, OriginalKey, PlannedReturn
from ledger.core.lots import decode
from ledger.core.returns import Original, OriginalAward
from ledger.core.rows import movement
from ledger.db_types import Connection


async def load_originals(
    conn: Connection, commands: Iterable[IncomingCommand]
) -> dict[OriginalKey, Original]:
    """The original of every return among `commands`; nothing (and no statement) without one."""
    returns = [c.command for c in commands if c.command.returning is not None]
    if not returns:
        return {}
    wanted: dict[OriginalKey, tuple[str, list[str]]] = {}
    for command in returns:
        request = command.returning
        if request is not None:
            key = (command.programme_id, command.user_id, request.original_event_id)
            wanted[key] = (request.field, list(request.award_keys))
    booked = await _booked(conn, wanted)
    awards, times = await _awards(conn, wanted)
    amounts = await _amounts(conn, wanted, times)
    returned = await _returned(conn, wanted)
    return {
        key: Original(
            key in booked,
            tuple(awards.get(key, ())),
            amounts.get(key),
            returned.get(key, Decimal(0)),
        )
        for key in wanted
    }


async def _booked(
    conn: Connection, wanted: dict[OriginalKey, tuple[str, list[str]]]
) -> set[OriginalKey]:
    rows = await conn.fetch(
        """SELECT programme_id, user_id, command_id FROM ledger.command_outcomes
           WHERE command_id = ANY($1::text[]) AND status <> 'rejected'""",
        sorted({key[2] for key in wanted}),
    )
    return {(row[0], row[1], row[2]) for row in rows} & set(wanted)


async def _awards(
    conn: Connection, wanted: dict[OriginalKey, tuple[str, list[str]]]
) -> tuple[dict[OriginalKey, list[OriginalAward]], dict[OriginalKey, datetime]]:
    """Each original's awards (credits of Programme Points to its user, not reversals), in
    key order, and the time of its event."""
    keys = sorted({award_key for _, award_keys in wanted.values() for award_key in award_keys})
    if not keys:
        return {}, {}
    rows = await conn.fetch(
        """SELECT programme_id, user_id, source_event_id, idempotency_key, rule_id, points,
                  credit_lots, credit_lot_day, occurred_at
           FROM ledger.entries
           WHERE idempotency_key = ANY($1::text[]) AND variety = 'Programme Points'
             AND transaction_type = 'Credit' AND reverses_entry_id IS NULL
           ORDER BY idempotency_key""",
        keys,
    )
    awards: dict[OriginalKey, list[OriginalAward]] = {}
    times: dict[OriginalKey, datetime] = {}
    for row in rows:
        key = (row["programme_id"], row["user_id"], row["source_event_id"])
        if key not in wanted:
            continue
        lots = movement(decode(row["credit_lots"]), row["credit_lot_day"], row["points"])
        award = OriginalAward(row["idempotency_key"], row["rule_id"], row["points"], 0, lots)
        awards.setdefault(key, []).append(award)
        if row["occurred_at"] is not None:
            times[key] = row["occurred_at"]
    return awards, times


async def _amounts(
    conn: Connection,
    wanted: dict[OriginalKey, tuple[str, list[str]]],
    times: dict[OriginalKey, datetime],
) -> dict[OriginalKey, Decimal]:
    """The amount of each original with awards, from its archived event."""
    found = [key for key in wanted if key in times]
    if not found:
        return {}
    rows = await conn.fetch(
        """SELECT d.programme_id, d.user_id, d.event_id,
                  (d.event::jsonb -> 'metadata' ->> k.field) AS amount
           FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
                AS k(programme_id, user_id, event_id, occurred_at, field)
           JOIN ledger.decided_events d
             ON d.programme_id = k.programme_id AND d.occurred_at = k.occurred_at
            AND d.event_id = k.event_id AND d.user_id = k.user_id""",
        [key[0] for key in found],
        [key[1] for key in found],
        [key[2] for key in found],
        [times[key] for key in found],
        [wanted[key][0] for key in found],
    )
    amounts: dict[OriginalKey, Decimal] = {}
    for row in rows:
        amount = _decimal(row["amount"])
        if amount is not None:
            amounts[(row["programme_id"], row["user_id"], row["event_id"])] = amount
    return amounts


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


async def _returned(
    conn: Connection, wanted: dict[OriginalKey, tuple[str, list[str]]]
) -> dict[OriginalKey, Decimal]:
    keys = sorted(wanted)
    rows = await conn.fetch(
        """SELECT r.programme_id, r.user_id, r.original_event_id, sum(r.amount) AS amount
           FROM ledger.returns r
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(programme_id, user_id, event_id)
             ON r.programme_id = k.programme_id AND r.user_id = k.user_id
            AND r.original_event_id = k.event_id
           GROUP BY r.programme_id, r.user_id, r.original_event_id""",
        [key[0] for key in keys],
        [key[1] for key in keys],
        [key[2] for key in keys],
    )
    return {(row[0], row[1], row[2]): Decimal(row[3]) for row in rows}


async def store_returns(conn: Connection, returns: Sequence[PlannedReturn]) -> None:
    """The batch's new returns (after its outcomes, which they reference)."""
    if not returns:
        return
    await conn.executemany(
        """INSERT INTO ledger.returns (command_id, programme_id, user_id, original_event_id,
                                       amount, points, shortfall)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        [tuple(planned) for planned in returns],
    )
