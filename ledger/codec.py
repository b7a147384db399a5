"""Turn a Kafka record into a command, or into a dead letter saying why it cannot be one."""

import base64
from dataclasses import dataclass

from pydantic import ValidationError

from ledger.core.batch import IncomingCommand, SourcePosition
from schemas.ledger import DeadLetterReason, LedgerCommand, LedgerDeadLetter

DETAIL_CHARS_MAX = 4000


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The part of a consumer record the writer uses (aiokafka's record is not ours to build)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def decode(record: RawRecord) -> IncomingCommand | LedgerDeadLetter:
    source = SourcePosition(record.topic, record.partition, record.offset)
    if record.value is None:
        return dead_letter(record, DeadLetterReason.UNDECODABLE, "record has no value")
    try:
        command = LedgerCommand.model_validate_json(record.value)
    except ValidationError as exc:
        not_json = any(error["type"] == "json_invalid" for error in exc.errors())
        reason = DeadLetterReason.UNDECODABLE if not_json else DeadLetterReason.SCHEMA_VIOLATION
        return dead_letter(record, reason, str(exc))
    return IncomingCommand.of(command, source)


def dead_letter(record: RawRecord, reason: DeadLetterReason, detail: str) -> LedgerDeadLetter:
    return LedgerDeadLetter(
        reason=reason,
        detail=detail[:DETAIL_CHARS_MAX],
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        original_key=_b64(record.key),
        original_value=_b64(record.value),
    )


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()
