"""The writer's side of the outcome notifications (`schemas.notifications`, the contract): the
payloads announcing a batch's committed outcome rows."""

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ledger.core.columns import OUTCOME_COLUMNS, Row
from schemas.notifications import OUTCOME_FIELDS, payloads

_NOTIFIED = tuple((name, OUTCOME_COLUMNS.index(name)) for name in OUTCOME_FIELDS)
_COMMAND_ID = OUTCOME_COLUMNS.index("command_id")


def notify_payloads(outcomes: Iterable[Row]) -> list[str]:
    """The payloads announcing the outcome rows (`OUTCOME_COLUMNS` order)."""
    return payloads(_elements(outcomes))


def _elements(outcomes: Iterable[Row]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for row in outcomes:
        yield str(row[_COMMAND_ID]), {name: row[index] for name, index in _NOTIFIED}
