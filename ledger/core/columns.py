"""The journal's columns, split into what a command fixes by itself and what its plan decides.

A command's own columns (ids, its bookings' fields, lineage, the explanation's JSON) are worked
out when it is decoded, while the batch before it is in Postgres; only the planned columns
(status, points, accounts, balances, entry ids) are filled in inside the batch's transaction,
which is what the writer's throughput waits on. Rows are the planned columns followed by the
command's, in the order of `OUTCOME_COLUMNS` and `ENTRY_COLUMNS` (COPY names its columns, so the
order is the writer's own).
"""

from datetime import UTC, date
from typing import Any, Final

import orjson
from pydantic import JsonValue

from schemas.ledger import Booking, LedgerCommand, TransactionType

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
    "credit_balance_after", "reverses_entry_id", "recorded_at", "debit_lots", "credit_lots",
    "pending_of", "debit_lot_day", "credit_lot_day",
)  # fmt: skip
BOOKING_ENTRY_COLUMNS: Final = (
    "idempotency_key", "payload_sha256", "command_id", "programme_id", "user_id",
    "transaction_type", "variety", "points", "reason", "remote_transaction_id",
    "counterparty_user_id", "source_event_id", "rule_id", "rule_version", "occurred_at",
    "expires_on", "pending", "allows_negative",
)  # fmt: skip
ENTRY_COLUMNS: Final = PLANNED_ENTRY_COLUMNS + BOOKING_ENTRY_COLUMNS

PLANNED_ARCHIVE_COLUMNS: Final = ("outcome_status", "rejection_reason", "recorded_at")
COMMAND_ARCHIVE_COLUMNS: Final = (
    "occurred_at", "programme_id", "user_id", "event_id", "event_type", "programme_version",
    "decision_status", "points", "reason_code", "awards", "event", "external_points",
)  # fmt: skip
ARCHIVE_COLUMNS: Final = PLANNED_ARCHIVE_COLUMNS + COMMAND_ARCHIVE_COLUMNS
"""ledger.decided_events, the archive of decided events (`archive_columns`)."""


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
    pending = booking.pending
    terms = None if pending is None else pending.model_dump_json()
    return (
        booking.idempotency_key, payload_sha256, command_id, programme_id, user_id,
        booking.transaction_type, booking.variety, booking.points, booking.reason,
        booking.remote_transaction_id, booking.counterparty_user_id, lineage.source_event_id,
        lineage.rule_id, lineage.rule_version, lineage.occurred_at, booking.expires_on, terms,
        booking.allow_negative,
    )  # fmt: skip


def archive_columns(command: LedgerCommand) -> Row | None:
    """`COMMAND_ARCHIVE_COLUMNS` of a command that carries its source event (a decision of the
    processors), None for any other. The decision's status, reason code and programme version
    are its explanation's; its points and awards are what its bookings book."""
    event = command.source_event
    if event is None:
        return None
    explained: Any = command.explanation if isinstance(command.explanation, dict) else {}
    awards = []
    points = 0
    for booking in command.bookings:
        signed = (
            booking.points
            if booking.transaction_type is TransactionType.CREDIT
            else -booking.points
        )
        points += signed
        awards.append(
            {
                "rule_id": booking.lineage.rule_id,
                "rule_version": booking.lineage.rule_version,
                "kind": "earn" if signed > 0 else "redeem",
                "points": booking.points,
            }
        )
    version = explained.get("programme_version")
    code = explained.get("reason_code")
    external = command.external_points
    return (
        event.occurred_at, command.programme_id, command.user_id, event.event_id,
        event.event_type, version if isinstance(version, int) else None,
        str(explained.get("status") or "unknown"), points, code if isinstance(code, str) else None,
        orjson.dumps(awards).decode(), event.model_dump_json(),
        None if external is None else orjson.dumps(external).decode(),
    )  # fmt: skip


def archive_month(columns: Row) -> date:
    """The first day of the (UTC) month of the archive partition the row goes to."""
    occurred_at: Any = columns[0]
    utc = occurred_at.astimezone(UTC)
    return date(utc.year, utc.month, 1)
