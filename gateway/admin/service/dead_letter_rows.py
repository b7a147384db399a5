"""Pure: a record of the dead-letter topic as the console stores it, the programme its original
names, and the original's bytes as a person reads them. No I/O, unit-tested without Kafka."""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from pydantic import ValidationError

from schemas.dead_letters import ERROR_CHARS_MAX, DeadLetter

UNREADABLE = "unreadable_dead_letter"
"""The reason stored for a record of the dead-letter topic that is no `DeadLetter` itself: kept,
with its own bytes as the original, rather than skipped. It names no programme (its key is not
a user's), so only admins of every programme see it."""
PROGRAMME_ID_CHARS_MAX = 128


@dataclass(frozen=True, slots=True)
class LetterRecord:
    """A record read from the dead-letter topic."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class LetterRow:
    """The `dead_letters` row of a record (deploy/migrations/0106_dead_letters.sql)."""

    letter_topic: str
    letter_partition: int
    letter_offset: int
    letter_at: datetime | None
    reason: str
    error: str
    producer: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_at: datetime | None
    original_key: bytes | None
    original_value: bytes | None
    programme_id: str | None

    def values(self) -> tuple[object, ...]:
        return (
            self.letter_topic, self.letter_partition, self.letter_offset, self.letter_at,
            self.reason, self.error, self.producer, self.source_topic, self.source_partition,
            self.source_offset, self.source_at, self.original_key, self.original_value,
            self.programme_id,
        )  # fmt: skip


COLUMNS = (
    "letter_topic, letter_partition, letter_offset, letter_at, reason, error, producer, "
    "source_topic, source_partition, source_offset, source_at, original_key, original_value, "
    "programme_id"
)


def row_of(record: LetterRecord) -> LetterRow:
    at = _moment(record.timestamp_ms)
    try:
        letter = DeadLetter.model_validate_json(record.value or b"")
        key = _bytes(letter.original_key_base64)
        value = _bytes(letter.original_value_base64)
    except (ValidationError, ValueError) as exc:
        return LetterRow(
            record.topic, record.partition, record.offset, at, UNREADABLE,
            f"not a dead letter ({type(exc).__name__}): {exc}"[:ERROR_CHARS_MAX], "unknown",
            record.topic, record.partition, record.offset, at, record.key, record.value, None,
        )  # fmt: skip
    return LetterRow(
        record.topic, record.partition, record.offset, at, letter.reason, letter.error,
        letter.producer, letter.source_topic, letter.source_partition, letter.source_offset,
        letter.source_timestamp, key, value, programme_named(key, value),
    )  # fmt: skip


def _moment(timestamp_ms: int | None) -> datetime | None:
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def _bytes(encoded: str | None) -> bytes | None:
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the original is not base64: {exc}") from exc


def programme_named(key: bytes | None, value: bytes | None) -> str | None:
    """The programme the original names: its key `programme_id:user_id` (every record about a
    user is keyed so), else its JSON's `programme_id`; None when neither names one."""
    if key:
        text = _text(key)
        if text is not None and ":" in text:
            programme_id = text.split(":", 1)[0]
            if 0 < len(programme_id) <= PROGRAMME_ID_CHARS_MAX:
                return programme_id
    if value:
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        found = document.get("programme_id") if isinstance(document, dict) else None
        if isinstance(found, str) and 0 < len(found) <= PROGRAMME_ID_CHARS_MAX:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Shown:
    """Bytes as a page shows them: text when they are text (JSON indented), else base64."""

    text: str
    encoding: str
    """`none`, `json`, `text` or `base64`."""


def shown(raw: bytes | None) -> Shown:
    if raw is None:
        return Shown("", "none")
    text = _text(raw)
    if text is None:
        return Shown(base64.b64encode(raw).decode(), "base64")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Shown(text, "text")
    return Shown(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(), "json")


def _text(raw: bytes) -> str | None:
    """UTF-8 without control characters other than white space; None otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text) or "\x7f" in text:
        return None
    return text
