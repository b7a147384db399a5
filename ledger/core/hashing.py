"""Payload hashes: the same idempotency key with a different hash is a conflict, never applied.

Hashes are taken over pydantic's JSON of the validated model (fields in declaration order,
defaults filled in), so two encodings of the same command (key order, whitespace, omitted
defaults) hash alike.
"""

import hashlib

from schemas.ledger import Booking, LedgerCommand


def command_sha256(command: LedgerCommand) -> bytes:
    return hashlib.sha256(command.model_dump_json().encode()).digest()


def booking_sha256(programme_id: str, user_id: str, booking: Booking) -> bytes:
    """The owner is part of the hash: the same key reused for another user is a conflict."""
    digest = hashlib.sha256(f"{programme_id}\x1f{user_id}\x1f".encode())
    digest.update(booking.model_dump_json().encode())
    return digest.digest()
