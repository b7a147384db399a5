"""Payload hashes: the same idempotency key with a different hash is a conflict, never applied.

Hashes are taken over a canonical form of the validated model: its fields in a fixed order as a
JSON array, defaults filled in, identifiers as pydantic normalised them, JSON objects with sorted
keys. Two encodings of the same command (key order, whitespace, omitted defaults) hash alike.
orjson over a tuple of the fields costs a fraction of pydantic's `model_dump_json`, and the
writer hashes every command and every booking of every batch.
"""

import hashlib
from datetime import UTC

import orjson

from ledger.core.accounts import booking_user
from schemas.ledger import Booking, LedgerCommand, LifecycleCommand

_CANONICAL = orjson.OPT_SORT_KEYS


def booking_sha256(programme_id: str, user_id: str, booking: Booking) -> bytes:
    """The owner is part of the hash: the same key reused for another user is a conflict.
    `user_id` is the user the booking is for (`accounts.booking_user`): a booking naming its own
    user hashes as the same booking in a command of that user would, and a booking without one
    hashes exactly as it did before bookings could name their user."""
    lineage = booking.lineage
    fields: tuple[object, ...] = (
        programme_id,
        user_id,
        booking.idempotency_key,
        booking.transaction_type,
        booking.variety,
        booking.points,
        booking.reason,
        booking.remote_transaction_id,
        booking.counterparty_user_id,
        booking.reverses,
        lineage.source_event_id,
        lineage.rule_id,
        lineage.rule_version,
        lineage.occurred_at,
    )
    expires_on = booking.expires_on
    if booking.allow_negative:  # only when set: every other booking hashes as it always did
        negative = (*fields, None if expires_on is None else expires_on.isoformat(), True)
        return hashlib.sha256(orjson.dumps(negative, option=_CANONICAL)).digest()
    if expires_on is not None:
        # Only when given: every booking without one hashes exactly as before the field existed.
        fields = (*fields, expires_on.isoformat())
    pending = booking.pending
    if pending is not None:  # the same: only a pending booking hashes its terms
        release_on = pending.release_on
        terms = (
            None if release_on is None else release_on.isoformat(),
            pending.confirmed_by,
            pending.reference_id,
        )
        fields = (*fields, "pending", terms)
    return hashlib.sha256(orjson.dumps(fields, option=_CANONICAL)).digest()


def command_sha256(command: LedgerCommand, booking_digests: tuple[bytes, ...]) -> bytes:
    """Over the command's own fields and its bookings' digests (fixed-size, so unambiguous).

    The explanation is left out: it describes the decision and books nothing, and a processor
    that re-decides a redelivered event (its duplicate window is bounded) may word it otherwise.
    What is booked must match to the point; the stored explanation stays the first one."""
    head: tuple[object, ...] = (
        command.schema_version,
        command.command_id,
        command.programme_id,
        command.user_id,
        command.source_event_id,
        len(booking_digests),
    )
    confirms = command.confirms
    if confirms is not None:  # only when given: every other command hashes as before
        at = confirms.confirmed_at.astimezone(UTC)
        confirmed = (confirms.event_type, confirms.reference_id, at)
        head = (*head, "confirms", confirmed)
    returning = command.returning
    digest = hashlib.sha256(orjson.dumps(head, option=_CANONICAL))
    if returning is not None:  # only on a return: every other command hashes as it always did
        amount = format(returning.amount.normalize(), "f")
        asked = (returning.original_event_id, returning.field, amount)
        digest.update(orjson.dumps(asked, option=_CANONICAL))
    for booking_digest in booking_digests:
        digest.update(booking_digest)
    return digest.digest()


def digests(command: LedgerCommand) -> tuple[bytes, tuple[bytes, ...]]:
    """(command digest, digest of each booking in order)."""
    programme_id, user_id = command.programme_id, command.user_id
    bookings = tuple(
        booking_sha256(programme_id, booking_user(user_id, booking), booking)
        for booking in command.bookings
    )
    return command_sha256(command, bookings), bookings


def lifecycle_sha256(command: LifecycleCommand) -> bytes:
    """A lifecycle command's digest: the same id with another day, instant or action is a
    conflict."""
    fields = (
        command.schema_version,
        command.command_id,
        command.programme_id,
        command.action,
        command.local_day.isoformat(),
        command.effective_at.astimezone(UTC),
    )
    return hashlib.sha256(orjson.dumps(fields, option=_CANONICAL)).digest()
