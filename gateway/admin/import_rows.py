"""What every import of rows into the ledger shares: a refused row, a row with nothing to book,
and a ledger command as it goes to `ledger-commands.v1`."""

import hashlib
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, Protocol

import orjson

from schemas.event_time import duration, instant
from schemas.events import event_id_for, scoped_id
from schemas.programme import ProgrammeConfig

LINE_BYTES_MAX: Final = 1 << 20
"""The longest line of a JSONL import read into memory; a longer one is refused unread."""


class Refusal(NamedTuple):
    """A row refused, with its line in the file and why."""

    line: int
    reason: str


class Skipped(NamedTuple):
    """A valid row with nothing to book (a balance of 0 points)."""

    line: int


class Command(NamedTuple):
    """A ledger command, encoded: its id, its record's key (`programme_id:user_id`) and value."""

    command_id: str
    key: bytes
    value: bytes


def dated_in_the_future(
    config: ProgrammeConfig, occurred_at: datetime, now: datetime
) -> str | None:
    """Why a history row is refused for its time: history may be as old as it is (the reason it
    is imported rather than published), but not dated past the programme's future bound."""
    breach = config.event_time.out_of_bounds(occurred_at, now)
    if breach is None or breach.bound != "future_max_s":
        return None
    return (
        f"occurred_at: {instant(occurred_at)} is more than {duration(breach.limit_s)} "
        "after now (the programme's event_time.future_max_s): history is dated in the past"
    )


class HistoryRow(Protocol):
    """What an imported event row holds to be given an event id."""

    @property
    def programme_id(self) -> str: ...
    @property
    def partner_id(self) -> str | None: ...
    @property
    def reference_id(self) -> str | None: ...
    @property
    def occurred_at(self) -> datetime: ...

    def model_dump(self, *, mode: str, exclude: set[str]) -> dict[str, Any]: ...


def history_event_id(row: HistoryRow, source: str) -> str:
    """The partner's own id for a row's reference (what its live publish got), else one from the
    row's content, the instant taken in UTC so that one instant written two ways is one id;
    `source` keeps apart the ids of rows of different kinds."""
    if row.reference_id is not None:
        return event_id_for(row.programme_id, row.partner_id or "", row.reference_id)
    content = row.model_dump(mode="json", exclude={"occurred_at"}) | {
        "occurred_at": row.occurred_at.astimezone(UTC).isoformat()
    }
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return scoped_id("evt_", (row.programme_id, "", source), digest)
