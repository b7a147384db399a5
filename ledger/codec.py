"""Turn a Kafka record into a command, or into a dead letter saying why it cannot be one."""

import orjson
from pydantic import ValidationError

from ledger.core.batch import IncomingCommand, SourcePosition
from ledger.core.expiring import IncomingLifecycle
from schemas.dead_letters import DeadLetter, SourceRecord
from schemas.ledger import DeadLetterReason, LedgerCommand, LifecycleCommand

PRODUCER = "ledger-writer"


# The writer reads records as the shared dead-letter source type.
RawRecord = SourceRecord


def decode(record: RawRecord) -> IncomingCommand | IncomingLifecycle | DeadLetter:
    if record.value is None:
        return dead_letter(record, DeadLetterReason.UNDECODABLE, "record has no value")
    try:
        command = LedgerCommand.model_validate_json(record.value)
    except ValidationError as refused:
        exc = refused
        lifecycle = _lifecycle(record.value)  # rare: tried only once the usual model refuses
        if isinstance(lifecycle, LifecycleCommand):
            source = SourcePosition(record.topic, record.partition, record.offset)
            return IncomingLifecycle.of(lifecycle, source)
        if lifecycle is not None:
            exc = lifecycle
        not_json = any(error["type"] == "json_invalid" for error in exc.errors())
        reason = DeadLetterReason.UNDECODABLE if not_json else DeadLetterReason.SCHEMA_VIOLATION
        return dead_letter(record, reason, str(exc))
    source = SourcePosition(record.topic, record.partition, record.offset)
    try:
        return IncomingCommand.of(command, source)
    except orjson.JSONEncodeError as exc:
        # Valid JSON that the ledger cannot store as it came (an integer beyond 64 bits in the
        # explanation): refused here, so hashing and the outcome's jsonb never meet it.
        return dead_letter(record, DeadLetterReason.SCHEMA_VIOLATION, f"explanation: {exc}")


def _lifecycle(value: bytes) -> LifecycleCommand | ValidationError | None:
    """A lifecycle command (a record naming an `action`), or why it is not one; None for a
    record that does not try to be one (its errors are then the users' command's)."""
    if b'"action"' not in value:
        return None
    try:
        return LifecycleCommand.model_validate_json(value)
    except ValidationError as exc:
        return exc


def dead_letter(record: RawRecord, reason: DeadLetterReason, detail: str) -> DeadLetter:
    return DeadLetter.of(record, str(reason), detail, PRODUCER)
