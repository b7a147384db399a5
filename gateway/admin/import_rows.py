"""What every import of rows into the ledger shares: a refused row, a row with nothing to book,
and a ledger command as it goes to `ledger-commands.v1`."""

from typing import Final, NamedTuple

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
