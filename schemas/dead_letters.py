"""`dead-letters.v1`: records that could not be decoded, validated or applied, with the reason and
the original bytes, so nothing is dropped without a trace and any record can be replayed."""

import base64
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict


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

    @staticmethod
    def encode(raw: bytes | None) -> str | None:
        return None if raw is None else base64.b64encode(raw).decode()
