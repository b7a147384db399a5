"""What the planner reads (a snapshot of the database) and what it decides (a batch plan)."""

from collections.abc import Mapping
from dataclasses import dataclass

from ledger.core.accounts import AccountKey, ProgrammePolicy
from ledger.core.hashing import command_sha256
from schemas.ledger import Booking, CommandOutcome, LedgerCommand


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a command was read from, kept on its outcome for lineage."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class IncomingCommand:
    command: LedgerCommand
    payload_sha256: bytes
    source: SourcePosition | None = None

    @classmethod
    def of(cls, command: LedgerCommand, source: SourcePosition | None = None) -> "IncomingCommand":
        return cls(command, command_sha256(command), source)


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    payload_sha256: bytes
    outcome: CommandOutcome


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A journal entry already booked (or planned earlier in the batch)."""

    payload_sha256: bytes
    debit: AccountKey
    credit: AccountKey
    points: int
    is_reversal: bool
    reversed_points: int = 0


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """Everything a batch needs, read under row locks on every account it touches."""

    programmes: Mapping[str, ProgrammePolicy]
    balances: Mapping[AccountKey, int]
    outcomes: Mapping[str, StoredOutcome]
    entries: Mapping[str, StoredEntry]


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """A new journal entry with its single posting."""

    command_id: str
    programme_id: str
    user_id: str | None
    booking: Booking
    payload_sha256: bytes
    debit: AccountKey
    credit: AccountKey
    debit_balance_after: int
    credit_balance_after: int


@dataclass(frozen=True, slots=True)
class PlannedOutcome:
    incoming: IncomingCommand
    outcome: CommandOutcome
    is_new: bool
    """True when the outcome is a new row; False for a repeat of a stored command id."""


@dataclass(frozen=True, slots=True)
class BatchPlan:
    outcomes: list[PlannedOutcome]
    entries: list[PlannedEntry]
    balances: dict[AccountKey, int]
    """The final balance of every account the batch changes."""
