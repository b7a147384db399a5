"""What the writer announces on `NOTIFY_CHANNEL` when a batch commits, and how a listener reads it.

Each payload is a JSON array with one element per committed outcome: an object of the outcome's
columns as stored (`ledger.queries.OUTCOME_FIELDS`), so a gateway waiting for it answers without
reading it back (with ids only, the answer's p50 at 500 events/s was 26.6-28.7 ms against
23.0-23.3, `python -m bench.gateway`); or, for an outcome too large to fit a payload by itself,
its command id alone, which the listener reads from the database. A batch takes as many payloads
as it needs under Postgres' 8000-byte limit: one notification per command cost the writer a
twentieth of its throughput. Listeners accept both kinds of element, so an older writer that
sends ids only is still understood.
"""

from collections.abc import Iterable
from typing import Any

import orjson

from ledger.core.columns import OUTCOME_COLUMNS, Row
from ledger.queries import OUTCOME_FIELDS

NOTIFY_CHANNEL = "ledger_outcomes"
NOTIFY_PAYLOAD_BYTES = 7_900
"""Postgres refuses a payload of 8000 bytes or more."""
_NOTIFIED = tuple((name, OUTCOME_COLUMNS.index(name)) for name in OUTCOME_FIELDS)
_COMMAND_ID = OUTCOME_COLUMNS.index("command_id")

Notified = tuple[str, dict[str, Any] | None]
"""A command id, with its outcome's `OUTCOME_FIELDS` unless only the id was sent."""


def notify_payloads(outcomes: Iterable[Row]) -> list[str]:
    """The payloads announcing the outcome rows (`OUTCOME_COLUMNS` order): JSON arrays, each as
    full as the size limit allows (a command id, 256 characters at most, is at most 1,538 bytes
    of JSON)."""
    payloads: list[str] = []
    chunk: list[bytes] = []
    size = 2  # the brackets
    for row in outcomes:
        encoded = orjson.dumps({name: row[index] for name, index in _NOTIFIED})
        if len(encoded) + 2 > NOTIFY_PAYLOAD_BYTES:
            encoded = orjson.dumps(row[_COMMAND_ID])
        if chunk and size + len(encoded) + 1 > NOTIFY_PAYLOAD_BYTES:
            payloads.append(_json_array(chunk))
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        payloads.append(_json_array(chunk))
    return payloads


def _json_array(encoded: list[bytes]) -> str:
    return (b"[" + b",".join(encoded) + b"]").decode()


def read_notification(payload: str) -> list[Notified]:
    """The command ids of one payload, each with its outcome's columns when they were sent."""
    elements = orjson.loads(payload)
    if not isinstance(elements, list):
        raise ValueError(f"not a JSON array: {payload[:100]!r}")
    return [_notified(element) for element in elements]


def _notified(element: object) -> Notified:
    if isinstance(element, str):
        return element, None
    if isinstance(element, dict) and isinstance(element.get("command_id"), str):
        return element["command_id"], element
    raise ValueError(f"neither a command id nor an outcome's columns: {str(element)[:100]!r}")
