"""The ledger's outcome notifications: what the ledger writer announces on `NOTIFY_CHANNEL`
(Postgres LISTEN/NOTIFY) when a batch commits, and how a listener (every gateway instance) reads
it. A contract between two services, versioned with the code like the topics' formats.

Each payload is a JSON array with one element per committed outcome: an object of the outcome's
fields as stored (`OUTCOME_FIELDS`; `explanation` as its JSON text, `recorded_at` as ISO text),
so a waiting gateway answers without reading the outcome back (with ids only, the answer's p50
at 500 events/s was 26.6-28.7 ms against 23.0-23.3, `python -m bench.gateway`); or, for an
outcome too large to fit a payload by itself, its command id alone, which the listener reads
from the database. A batch takes as many payloads as it needs under Postgres' 8000-byte limit:
one notification per command cost the writer a twentieth of its throughput. Listeners accept both
kinds of element, so a writer that sends ids only is still understood; fields a listener does
not know are ignored, and fields added later are optional.
"""

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

import orjson

from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason

NOTIFY_CHANNEL: Final = "ledger_outcomes"
NOTIFY_PAYLOAD_BYTES: Final = 7_900
"""Postgres refuses a payload of 8000 bytes or more."""

OUTCOME_FIELDS: Final = (
    "command_id", "status", "reason_code", "reason_message", "points", "balance_after",
    "explanation", "recorded_at", "source_fingerprint",
)  # fmt: skip
"""An outcome's fields in a notification: the stored columns `outcome_of` reads."""

Notified = tuple[str, dict[str, Any] | None]
"""A command id, with its outcome's `OUTCOME_FIELDS` unless only the id was sent."""


class Fields(Protocol):
    """A notification's element, or a stored row of the same columns (an asyncpg Record)."""

    def __getitem__(self, name: str, /) -> Any: ...

    def get(self, name: str, /) -> Any: ...


def outcome_of(fields: Fields) -> CommandOutcome:
    """The outcome of a notification's element (or of a stored row with the same columns; the
    time may be a datetime or ISO text, which the model reads as well)."""
    status = OutcomeStatus(fields["status"])
    code = fields["reason_code"]
    explanation = fields["explanation"]
    return CommandOutcome(
        command_id=fields["command_id"],
        status=status,
        points=fields["points"],
        reason=fields["reason_message"],
        reason_code=None if code is None else RejectionReason(code),
        original_status=OutcomeStatus.BOOKED if status is OutcomeStatus.DUPLICATE else None,
        balance_after=fields["balance_after"],
        explanation=None if explanation is None else orjson.loads(explanation),
        recorded_at=fields["recorded_at"],
        # A notification from a writer older than the field does not carry it.
        source_fingerprint=fields.get("source_fingerprint"),
    )


def payloads(outcomes: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The payloads announcing outcomes, each given as (command id, `OUTCOME_FIELDS` values):
    JSON arrays, each as full as the size limit allows (a command id, 256 characters at most,
    is at most 1,538 bytes of JSON)."""
    found: list[str] = []
    chunk: list[bytes] = []
    size = 2  # the brackets
    for command_id, fields in outcomes:
        encoded = orjson.dumps(fields)
        if len(encoded) + 2 > NOTIFY_PAYLOAD_BYTES:
            encoded = orjson.dumps(command_id)
        if chunk and size + len(encoded) + 1 > NOTIFY_PAYLOAD_BYTES:
            found.append(_json_array(chunk))
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        found.append(_json_array(chunk))
    return found


def _json_array(encoded: list[bytes]) -> str:
    return (b"[" + b",".join(encoded) + b"]").decode()


def read_notification(payload: str) -> list[Notified]:
    """The command ids of one payload, each with its outcome's fields when they were sent."""
    elements = orjson.loads(payload)
    if not isinstance(elements, list):
        raise ValueError(f"not a JSON array: {payload[:100]!r}")
    return [_notified(element) for element in elements]


def _notified(element: object) -> Notified:
    if isinstance(element, str):
        return element, None
    if isinstance(element, dict) and isinstance(element.get("command_id"), str):
        return element["command_id"], element
    raise ValueError(f"neither a command id nor an outcome's fields: {str(element)[:100]!r}")
