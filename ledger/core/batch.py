"""What the planner reads (a snapshot of the database) and what it decides (a batch plan).

Records are NamedTuples, not frozen dataclasses: the writer builds several per command, thousands
per batch, and a tuple is built in a third of the time (a frozen dataclass sets every field
through `object.__setattr__`). They are as immutable and carry the same field names.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from pydantic import JsonValue

from ledger.core.accounts import AccountKey, AccountKind, ProgrammePolicy, booking_user
from ledger.core.columns import (
    Row,
    archive_columns,
    booking_entry_columns,
    command_outcome_columns,
)
from ledger.core.hashing import digests
from ledger.core.lots import Lots
from ledger.core.pending import Pending
from ledger.core.rejections import Rejection
from ledger.core.returns import Original
from ledger.core.varieties import Route, static_route
from schemas.ledger import Booking, CommandOutcome, LedgerCommand, OutcomeStatus, RejectionReason

OriginalKey = tuple[str, str, str]
"""(programme_id, user_id, original_event_id) of a return's original."""


class SourcePosition(NamedTuple):
    """Where a command was read from, kept on its outcome for lineage."""

    topic: str
    partition: int
    offset: int


class IncomingCommand(NamedTuple):
    """A validated command with what can be worked out before its batch's transaction, once,
    when it is decoded (while the batch before it is in the database): its payload hash and each
    booking's, each booking's route where that does not depend on the programme's configuration
    (None where it does, see `varieties.static_route`), the accounts those routes and the user
    touch, and the journal columns the command fixes by itself (`columns`). Each booking is
    routed, hashed and journalled for its own user (`accounts.booking_user`); `user_account`
    is the command's user, whose balance the outcome reports."""

    command: LedgerCommand
    payload_sha256: bytes
    booking_sha256s: tuple[bytes, ...]
    routes: tuple[Route | Rejection | None, ...]
    user_account: AccountKey
    accounts: frozenset[AccountKey]
    """The user's account and every account of the static routes."""
    outcome_columns: Row
    """`columns.COMMAND_OUTCOME_COLUMNS`."""
    entry_columns: tuple[Row, ...]
    """`columns.BOOKING_ENTRY_COLUMNS` of each booking."""
    source: SourcePosition | None = None
    archive: Row | None = None
    """`columns.COMMAND_ARCHIVE_COLUMNS` of a command that carries its source event."""

    @classmethod
    def of(cls, command: LedgerCommand, source: SourcePosition | None = None) -> "IncomingCommand":
        """Raises orjson.JSONEncodeError for a command the ledger cannot store as it came."""
        command_digest, booking_digests = digests(command)
        command_id, programme_id, user_id = (
            command.command_id,
            command.programme_id,
            command.user_id,
        )
        bookings = command.bookings
        owners = tuple(booking_user(user_id, b) for b in bookings)
        routes = tuple(
            static_route(programme_id, owner, b) for owner, b in zip(owners, bookings, strict=True)
        )
        user_account = AccountKey(programme_id, AccountKind.USER, user_id)
        accounts = {user_account}
        if command.returning is not None:  # its Return entries credit the programme's budget
            accounts.add(AccountKey(programme_id, AccountKind.BUDGET, ""))
            # and its cancellations of a pending award move points out of the pending account
            accounts.add(AccountKey(programme_id, AccountKind.PENDING, ""))
        for routed in routes:
            if isinstance(routed, Route):
                accounts.update(routed)
        if command.confirms is not None:  # releases move points out of the pending account
            accounts.add(AccountKey(programme_id, AccountKind.PENDING, ""))
        for owner, booking in zip(owners, bookings, strict=True):
            if booking.pending is not None:  # held for the user: its row keeps the lot
                accounts.add(AccountKey(programme_id, AccountKind.USER, owner))
        outcome_columns = command_outcome_columns(
            command_id,
            command_digest,
            programme_id,
            user_id,
            command.explanation,
            command.source_event_id,
            source,
            command.source_fingerprint,
        )
        entry_columns = tuple(
            booking_entry_columns(command_id, programme_id, owner, digest, booking)
            for booking, owner, digest in zip(bookings, owners, booking_digests, strict=True)
        )
        return cls(
            command,
            command_digest,
            booking_digests,
            routes,
            user_account,
            frozenset(accounts),
            outcome_columns,
            entry_columns,
            source,
            archive_columns(command),
        )


class Outcome(NamedTuple):
    """What the ledger did with a command: the fields of `schemas.ledger.CommandOutcome`, which
    `model()` builds for callers outside the writer (validating thousands per batch would cost
    more than planning them)."""

    command_id: str
    status: OutcomeStatus
    points: int
    reason: str | None = None
    balance_after: int | None = None
    reason_code: RejectionReason | None = None
    original_status: OutcomeStatus | None = None
    explanation: JsonValue = None
    recorded_at: datetime | None = None
    source_fingerprint: str | None = None

    def model(self) -> CommandOutcome:
        return CommandOutcome.model_validate(self._asdict())

    def repeated(self) -> "Outcome":
        """The same result, answered again for a command seen before."""
        return self._replace(
            status=OutcomeStatus.DUPLICATE, original_status=self.original_status or self.status
        )


class StoredOutcome(NamedTuple):
    payload_sha256: bytes
    outcome: Outcome


class StoredEntry(NamedTuple):
    """A journal entry already booked (or planned earlier in the batch)."""

    payload_sha256: bytes
    debit: AccountKey
    credit: AccountKey
    points: int
    is_reversal: bool
    reversed_points: int = 0
    award_rule_id: str | None = None
    """The rule an award was earned with (`budgets.award_rule_id`), None for any other entry."""


RuleKey = tuple[str, str]
"""(programme_id, rule_id) of a budgeted rule."""


class LedgerSnapshot(NamedTuple):
    """Everything a batch needs, read under row locks on every account it touches (and on the
    usage of every budgeted rule it names)."""

    programmes: Mapping[str, ProgrammePolicy]
    balances: Mapping[AccountKey, int]
    outcomes: Mapping[str, StoredOutcome]
    entries: Mapping[str, StoredEntry]
    rule_usage: Mapping[RuleKey, int] = {}
    """Points used of each budgeted rule's budget (`budgets.needed_rule_usage`)."""
    lots: Mapping[AccountKey, Lots] = {}
    """The lots of the locked accounts that store any (`ledger.core.lots`; absent: None)."""
    pending: Mapping[AccountKey, Pending] = {}
    """The pending lots of the locked accounts that hold any (`ledger.core.pending`)."""
    originals: Mapping[OriginalKey, Original] = {}
    """What the ledger holds of each original the batch's returns name
    (`ledger.core.returns`)."""


class PlannedEntry(NamedTuple):
    """A new journal entry: `booking.points` move from `debit` to `credit`."""

    booking: Booking
    payload_sha256: bytes
    debit: AccountKey
    credit: AccountKey
    debit_balance_after: int
    credit_balance_after: int
    columns: Row
    """`columns.BOOKING_ENTRY_COLUMNS` of the booking (its command's ids among them)."""
    debit_lots: Lots | None = None
    """The lots the entry took from a user's account on its debit side (`ledger.core.lots`:
    None also where that side is not a user's)."""
    credit_lots: Lots | None = None
    """The lots it formed on a user's account on its credit side."""
    pending_of: str | None = None
    """The award whose pending points the entry releases or cancels (its idempotency key)."""


class PlannedOutcome(NamedTuple):
    incoming: IncomingCommand
    outcome: Outcome
    is_new: bool
    """True when the outcome is a new row; False for a repeat of a stored command id."""


class PlannedReturn(NamedTuple):
    """A return that counts towards its original (a row of ledger.returns)."""

    command_id: str
    programme_id: str
    user_id: str
    original_event_id: str
    amount: Decimal
    points: int
    """Points taken back."""
    shortfall: int


class BatchPlan(NamedTuple):
    outcomes: list[PlannedOutcome]
    entries: list[PlannedEntry]
    balances: dict[AccountKey, int]
    """The final balance of every account the batch changes."""
    rule_usage: Mapping[RuleKey, int] = {}
    """The final usage of every rule budget the batch changes."""
    lots: Mapping[AccountKey, Lots] = {}
    """The final lots of the accounts of `balances` that store any (absent: None)."""
    pending: Mapping[AccountKey, Pending] = {}
    """The final pending lots of the accounts of `balances` that hold any (absent: None)."""
    pending_stored: bool = False
    """Whether any account of `balances` held or holds pending lots (else all are None)."""
    returns: Sequence[PlannedReturn] = ()
    """The batch's new returns that count towards their originals."""


def reversed_keys(commands: Iterable[IncomingCommand]) -> set[str]:
    """The idempotency keys the commands' reversals name."""
    keys = {
        booking.reverses
        for incoming in commands
        for booking in incoming.command.bookings
        if booking.reverses is not None
    }
    for incoming in commands:
        returning = incoming.command.returning
        if returning is not None:
            keys.update(returning.award_keys)
    return keys


def booking_keys(commands: Iterable[IncomingCommand]) -> set[str]:
    """Every idempotency key the commands book or reverse."""
    keys: set[str] = set()
    for incoming in commands:
        for booking in incoming.command.bookings:
            keys.add(booking.idempotency_key)
            if booking.reverses is not None:
                keys.add(booking.reverses)
        returning = incoming.command.returning
        if returning is not None:
            keys.update(returning.award_keys)
    return keys
