"""Pending points: awards held back for a user until a return window ends or a confirmation.

A pending award is booked at once, from the programme's budget to the programme's pending
account (never to the user's account, so no debit can take it: pending points are not
spendable by construction). What the pending account holds for each user is kept on the user's
account row as pending lots, one per award, addressable by the award's idempotency key:
`(award_key, reference_id, release_on, confirmed_by, points)`. `release_on` is the local day at
whose midnight the scheduler's `release_points` command releases it (None: only a confirmation
does), `confirmed_by` the event type whose event naming `reference_id` releases it at once.

A release moves the lot's points from the pending account to the user's (variety Points
Release, keyed `release:{award_key}`, `pending_of` the award's key), where they form a lot of
their own like any credit: the programme's expiry counts from the release. A cancellation (a
return) moves some or all of a lot's points back to the budget. Either way the lot shrinks or
goes, so it is released or cancelled at most once: a second release finds nothing.

`None` stands for "nothing pending": the state of almost every account, which stores nothing.
"""

from typing import NamedTuple

import orjson


class PendingLot(NamedTuple):
    award_key: str
    """The idempotency key of the award (its entry) that holds the points."""
    reference_id: str
    """What a confirmation or a return names the award by (the earning event's reference)."""
    release_on: str | None
    """ISO date of the local day the points become available; None: no window."""
    confirmed_by: str | None
    """The event type that confirms the award; None: only the window ends it."""
    points: int


Pending = tuple[PendingLot, ...]

RELEASE_PREFIX = "release:"


def release_key(award_key: str) -> str:
    """The idempotency key of an award's release: one per award, whoever releases it."""
    return f"{RELEASE_PREFIX}{award_key}"


def canonical(pending: Pending) -> Pending | None:
    return pending or None


def total(pending: Pending | None) -> int:
    if pending is None:
        return 0
    points = 0
    for lot in pending:
        points += lot.points
    return points


def held(pending: Pending | None, lot: PendingLot) -> Pending:
    """`pending` with a new award's lot (kept in the order the awards were booked)."""
    return (lot,) if pending is None else (*pending, lot)


def next_release(pending: Pending | None) -> str | None:
    """The earliest day a lot is released on (what the release run finds accounts by)."""
    earliest: str | None = None
    if pending is None:
        return None
    for lot in pending:
        day = lot.release_on
        if day is not None and (earliest is None or day < earliest):
            earliest = day
    return earliest


def due(pending: Pending | None, day: str) -> tuple[Pending | None, Pending]:
    """(lots left, lots released): every lot whose window ends on `day` or earlier."""
    if pending is None:
        return None, ()
    left = tuple(lot for lot in pending if lot.release_on is None or lot.release_on > day)
    if len(left) == len(pending):
        return pending, ()
    released = tuple(lot for lot in pending if lot.release_on is not None and lot.release_on <= day)
    return canonical(left), released


def confirmed(
    pending: Pending | None, event_type: str, reference_id: str
) -> tuple[Pending | None, Pending]:
    """(lots left, lots released): the lots an event of `event_type` naming `reference_id`
    confirms."""
    if pending is None:
        return None, ()
    released = tuple(
        lot
        for lot in pending
        if lot.confirmed_by == event_type and lot.reference_id == reference_id
    )
    if not released:
        return pending, ()
    left = tuple(lot for lot in pending if lot not in released)
    return canonical(left), released


class Cancellation(NamedTuple):
    left: Pending | None
    """The account's pending lots after the cancellation."""
    lot: PendingLot | None
    """The award's lot as it was, None when nothing of it is pending any more (released,
    cancelled before, or never pending)."""
    points: int
    """Points cancelled: `min(points asked, points still pending)`."""


def cancelled(pending: Pending | None, award_key: str, points: int) -> Cancellation:
    """Take back up to `points` of the award's pending lot (a return): the rest stays pending
    on its terms. What was already released is the caller's to take from the available
    balance."""
    if points <= 0:
        raise ValueError(f"points to cancel must be positive, not {points}")
    if pending is None:
        return Cancellation(None, None, 0)
    for index, lot in enumerate(pending):
        if lot.award_key != award_key:
            continue
        taken = min(points, lot.points)
        rest = pending[:index] + pending[index + 1 :]
        if taken < lot.points:
            rest = (
                *pending[:index],
                lot._replace(points=lot.points - taken),
                *pending[index + 1 :],
            )
        return Cancellation(canonical(rest), lot, taken)
    return Cancellation(pending, None, 0)


def encode(pending: Pending | None) -> str | None:
    """The jsonb text a user's account stores: `[["evt_1:r", "order_7", "2026-04-01",
    "order.completed", 30]]`."""
    if pending is None:
        return None
    return orjson.dumps([list(lot) for lot in pending]).decode()


def decode(text: str | None) -> Pending | None:
    if text is None:
        return None
    value = orjson.loads(text)
    if not isinstance(value, list):
        raise ValueError(f"malformed pending lots: {text[:200]!r}")
    return canonical(tuple(_lot(item) for item in value))


def _lot(item: object) -> PendingLot:
    if not isinstance(item, list) or len(item) != 5:
        raise ValueError(f"malformed pending lot: {item!r}"[:200])
    key, reference, release_on, confirmed_by, points = item
    if not isinstance(key, str) or not isinstance(reference, str) or type(points) is not int:
        raise ValueError(f"malformed pending lot: {item!r}"[:200])
    if not (release_on is None or isinstance(release_on, str)):
        raise ValueError(f"malformed pending lot date: {item!r}"[:200])
    if not (confirmed_by is None or isinstance(confirmed_by, str)):
        raise ValueError(f"malformed pending lot event type: {item!r}"[:200])
    return PendingLot(key, reference, release_on, confirmed_by, points)


def problems(pending: Pending | None) -> list[str]:
    """How stored pending lots break the rules above (empty when they keep them)."""
    if pending is None:
        return []
    found: list[str] = []
    if not pending:
        found.append("an empty list stored where nothing is pending (the account stores nothing)")
    keys: set[str] = set()
    for lot in pending:
        if lot.points <= 0:
            found.append(f"pending lot {lot.award_key} holds {lot.points} points")
        if lot.release_on is None and lot.confirmed_by is None:
            found.append(f"pending lot {lot.award_key} has no way to be released")
        if lot.award_key in keys:
            found.append(f"pending lot {lot.award_key} appears twice")
        keys.add(lot.award_key)
    return found
