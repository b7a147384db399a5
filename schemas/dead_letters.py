"""`dead-letters.v1`: records that could not be decoded, validated or applied, with the reason and
the original bytes, so nothing is dropped without a trace and any record can be replayed."""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

ERROR_CHARS_MAX = 4000


# Treated as immutable; not frozen: the processors make one for every record, and a frozen
# dataclass's `__init__` (an `object.__setattr__` per field) costs 4x a plain one.
@dataclass(slots=True)
class SourceRecord:
    """Where a consumed record came from and what it held: all a dead letter must keep."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


class DeadLetter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    reason: str
    error: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_timestamp: AwareDatetime | None = None
    original_key_base64: str | None
    original_value_base64: str | None
    producer: str

    @classmethod
    def of(cls, record: SourceRecord, reason: str, error: str, producer: str) -> "DeadLetter":
        stamp = record.timestamp_ms
        return cls(
            reason=reason,
            error=error[:ERROR_CHARS_MAX],
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            source_timestamp=None
            if stamp is None or stamp < 0
            else datetime.fromtimestamp(stamp / 1000, tz=UTC),
            original_key_base64=_base64(record.key),
            original_value_base64=_base64(record.value),
            producer=producer,
        )


def _base64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()
