"""The journal's columns, split into what a command fixes by itself and what its plan decides.

A command's own columns (ids, its bookings' fields, lineage, the explanation's JSON) are worked
out when it is decoded, while the batch before it is in Postgres; only the planned columns
(status, points, accounts, balances, entry ids) are filled in inside the batch's transaction,
which is what the writer's throughput waits on. Rows are the planned columns followed by the
command's, in the order of `OUTCOME_COLUMNS` and `ENTRY_COLUMNS` (COPY names its columns, so the
order is the writer's own).
"""

from typing import Final

import orjson
from pydantic import JsonValue

from schemas.ledger import Booking

Row = tuple[object, ...]

PLANNED_OUTCOME_COLUMNS: Final = (
    "status", "reason_code", "reason_message", "points", "balance_after", "recorded_at",
)  # fmt: skip
COMMAND_OUTCOME_COLUMNS: Final = (
    "command_id", "payload_sha256", "programme_id", "user_id", "explanation", "source_event_id",
    "source_topic", "source_partition", "source_offset", "source_fingerprint",
)  # fmt: skip
OUTCOME_COLUMNS: Final = PLANNED_OUTCOME_COLUMNS + COMMAND_OUTCOME_COLUMNS

PLANNED_ENTRY_COLUMNS: Final = (
    "entry_id", "debit_account_id", "credit_account_id", "debit_balance_after",
    "credit_balance_after", "reverses_entry_id", "recorded_at",
)  # fmt: skip
BOOKING_ENTRY_COLUMNS: Final = (
    "idempotency_key", "payload_sha256", "command_id", "programme_id", "user_id",
    "transaction_type", "variety", "points", "reason", "remote_transaction_id",
    "counterparty_user_id", "source_event_id", "rule_id", "rule_version", "occurred_at",
    "expires_on",
)  # fmt: skip
ENTRY_COLUMNS: Final = PLANNED_ENTRY_COLUMNS + BOOKING_ENTRY_COLUMNS


def command_outcome_columns(
    command_id: str,
    payload_sha256: bytes,
    programme_id: str,
    user_id: str | None,
    explanation: JsonValue,
    source_event_id: str | None,
    source: tuple[str, int, int] | None,
    source_fingerprint: str | None = None,
) -> Row:
    """`COMMAND_OUTCOME_COLUMNS`. Raises orjson.JSONEncodeError for an explanation Postgres'
    jsonb cannot hold as it came (an integer beyond 64 bits)."""
    topic, partition, offset = (None, None, None) if source is None else source
    explained = None if explanation is None else orjson.dumps(explanation).decode()
    return (
        command_id, payload_sha256, programme_id, user_id, explained, source_event_id,
        topic, partition, offset, source_fingerprint,
    )  # fmt: skip


def booking_entry_columns(
    command_id: str,
    programme_id: str,
    user_id: str | None,
    payload_sha256: bytes,
    booking: Booking,
) -> Row:
    """`BOOKING_ENTRY_COLUMNS`."""
    lineage = booking.lineage
    return (
        booking.idempotency_key, payload_sha256, command_id, programme_id, user_id,
        booking.transaction_type, booking.variety, booking.points, booking.reason,
        booking.remote_transaction_id, booking.counterparty_user_id, lineage.source_event_id,
        lineage.rule_id, lineage.rule_version, lineage.occurred_at, booking.expires_on,
    )  # fmt: skip
