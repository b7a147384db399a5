"""Turn a Kafka record into a command, or into a dead letter saying why it cannot be one."""

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from ledger.core.batch import IncomingCommand, SourcePosition
from schemas.dead_letters import DeadLetter
from schemas.ledger import DeadLetterReason, LedgerCommand

DETAIL_CHARS_MAX = 4000
PRODUCER = "ledger-writer"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """The part of a consumer record the writer uses (aiokafka's record is not ours to build)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


def decode(record: RawRecord) -> IncomingCommand | DeadLetter:
    if record.value is None:
        return dead_letter(record, DeadLetterReason.UNDECODABLE, "record has no value")
    try:
        command = LedgerCommand.model_validate_json(record.value)
    except ValidationError as exc:
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


def dead_letter(record: RawRecord, reason: DeadLetterReason, detail: str) -> DeadLetter:
    timestamp = record.timestamp_ms
    return DeadLetter(
        reason=str(reason),
        error=detail[:DETAIL_CHARS_MAX],
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        source_timestamp=None
        if timestamp is None or timestamp < 0
        else datetime.fromtimestamp(timestamp / 1000, tz=UTC),
        original_key_base64=DeadLetter.encode(record.key),
        original_value_base64=DeadLetter.encode(record.value),
        producer=PRODUCER,
    )
