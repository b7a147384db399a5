"""`loyalty-admin import-events FILE.jsonl --as-given`: history whose points were decided
elsewhere (another engine's ledger), booked as given rather than decided by the rules. Pure: the
programmes and the clock come in as arguments.

One JSON object a line: `programme_id`, `user_id`, `occurred_at` (RFC 3339 with a time zone) and
`points` (a whole number, not 0: positive credits the user, negative debits) are required;
`event_type`, `reason` (the entry's description; default the event type, else "Imported
history"), `variety` (a MyRewards variety the sign permits, default `Adjustment`), `expires_on`
(`YYYY-MM-DD`, a credit's), `metadata`, `partner_id` and `reference_id` are optional.

Each row is one ledger command of its own, keyed `programme_id:user_id` (a user's rows are
booked in the file's order, so a debit finds the credits before it), whose id is the row's event
id, given as `import-events` gives it: a row with a `reference_id` gets the id its partner's live
publish got, so a row booked as given and the same event decided by the rules (live, or
imported without `--as-given`) can never both book: the second is refused as a conflict. Its one
booking's key is `<event id>:as-given`; its lineage keeps the event id and `occurred_at`.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Final, NamedTuple

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from gateway.admin.import_rows import (
    LINE_BYTES_MAX,
    Command,
    Refusal,
    dated_in_the_future,
    history_event_id,
)
from gateway.partner.models import MAX_METADATA_KEYS, rfc3339_text
from schemas.events import Identifier
from schemas.ledger import (
    Booking,
    LedgerCommand,
    Lineage,
    Points,
    TransactionType,
    Variety,
)
from schemas.programme import ProgrammeConfig
from schemas.topics import user_key

DEFAULT_REASON: Final = "Imported history"
KEY_SUFFIX: Final = ":as-given"
# A transfer names a second user and moves points between the two: not one user's history.
_NOT_GIVEN: Final = frozenset({Variety.PERSON_TO_PERSON_TRANSFER})


class GivenRow(BaseModel):
    """One line of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    programme_id: Identifier
    user_id: Identifier
    occurred_at: AwareDatetime
    points: Annotated[int, Field(ge=-(10**12), le=10**12)]
    event_type: Identifier | None = None
    reason: Annotated[str, Field(min_length=1, max_length=250)] | None = None
    variety: Variety = Variety.ADJUSTMENT
    expires_on: date | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)
    partner_id: Identifier | None = None
    reference_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: object) -> object:
        return rfc3339_text(value)

    @model_validator(mode="after")
    def _bookable(self) -> "GivenRow":
        if self.points == 0:
            raise ValueError("points: 0 books nothing (positive credits, negative debits)")
        if self.variety in _NOT_GIVEN:
            raise ValueError(f"variety: {self.variety.value!r} cannot be imported as given")
        if self.expires_on is not None and self.points < 0:
            raise ValueError("expires_on: only a credit's points expire")
        return self


class GivenBooking(NamedTuple):
    """A valid row, as the command that books it (`booking_import.ImportRow`)."""

    line: int
    key: str
    points: int
    """Signed: what the row moves to (+) or from (-) its user."""
    command: LedgerCommand
    encoded: Command


class GivenRows:
    """Rows to commands against the stored programmes, at `now` (the import's clock)."""

    def __init__(
        self, catalog: Mapping[str, ProgrammeConfig], import_id: str, now: datetime
    ) -> None:
        self._catalog = catalog
        self._import_id = import_id
        self._now = now

    def rows(self, lines: Iterator[tuple[int, bytes | None]]) -> Iterator[GivenBooking | Refusal]:
        for number, line in lines:
            yield self.row(number, line)

    def row(self, number: int, line: bytes | None) -> GivenBooking | Refusal:
        if line is None:
            return Refusal(number, f"longer than {LINE_BYTES_MAX} bytes")
        try:
            row = GivenRow.model_validate_json(line)
        except ValidationError as exc:
            return Refusal(number, _summary(exc))
        problem = self._problem(row)
        if problem is not None:
            return Refusal(number, problem)
        command = given_command(row, self._import_id)
        (booking,) = command.bookings
        encoded = Command(
            command.command_id,
            user_key(row.programme_id, row.user_id),
            command.model_dump_json(exclude_defaults=True).encode(),
        )
        return GivenBooking(number, booking.idempotency_key, row.points, command, encoded)

    def _problem(self, row: GivenRow) -> str | None:
        config = self._catalog.get(row.programme_id)
        if config is None:
            return f"programme_id: no programme {row.programme_id!r} is stored"
        if row.partner_id is not None and config.partner(row.partner_id) is None:
            return f"partner_id: {row.partner_id!r} is not a partner of {config.programme_id!r}"
        return dated_in_the_future(config, row.occurred_at, self._now)


def given_event_id(row: GivenRow) -> str:
    return history_event_id(row, "given")


def given_command(row: GivenRow, import_id: str) -> LedgerCommand:
    event_id = given_event_id(row)
    credit = row.points > 0
    points: Points = abs(row.points)
    booking = Booking(
        idempotency_key=f"{event_id}{KEY_SUFFIX}",
        transaction_type=TransactionType.CREDIT if credit else TransactionType.DEBIT,
        variety=row.variety,
        points=points,
        reason=row.reason or row.event_type or DEFAULT_REASON,
        lineage=Lineage(source_event_id=event_id, occurred_at=row.occurred_at.astimezone(UTC)),
        expires_on=row.expires_on,
    )
    return LedgerCommand(
        command_id=event_id,
        programme_id=row.programme_id,
        user_id=row.user_id,
        source_event_id=event_id,
        bookings=[booking],
        explanation={
            "import": "as_given",
            "import_id": import_id,
            "event_type": row.event_type,
            "partner_id": row.partner_id,
            "reference_id": row.reference_id,
            "metadata": row.metadata,
        },
    )


class GivenPlan:
    """`booking_import.ImportPlan` of rows booked as given: one command each. The digests are
    the ledger's, passed in (`ledger.reads`), so this module stays pure."""

    rows_per_command = 1

    def __init__(
        self,
        booking_digest: Callable[[str, str, Booking], bytes],
        command_digest: Callable[[LedgerCommand], bytes],
    ) -> None:
        self._booking_digest = booking_digest
        self._command_digest = command_digest

    def groups(self, rows: Sequence[GivenBooking]) -> list[Sequence[GivenBooking]]:
        return [[row] for row in rows]

    def command(self, rows: Sequence[GivenBooking]) -> Command:
        (row,) = rows
        return row.encoded

    def retry(self, rows: Sequence[GivenBooking]) -> Command | None:
        """None: a row's command is its event, whose outcome is final as a live event's."""
        return None

    def digest(self, row: GivenBooking) -> bytes:
        command = row.command
        (booking,) = command.bookings
        return self._booking_digest(command.programme_id, command.user_id, booking)

    def command_digest(self, command: Command) -> bytes:
        return self._command_digest(LedgerCommand.model_validate_json(command.value))

    def command_conflict(self, command_id: str) -> str:
        return (
            f"idempotency_conflict: event {command_id} was booked before otherwise (decided by "
            "the rules, or imported with other points)"
        )

    def conflict(self, row: GivenBooking) -> str:
        return (
            f"idempotency_conflict: {row.key} was booked before with other points, variety, "
            "reason or expiry"
        )


def _summary(exc: ValidationError) -> str:
    return "; ".join(_problem(error) for error in exc.errors())


def _problem(error: ErrorDetails) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"] and error["type"] == "value_error":
        return message  # `_bookable`'s, which names its field
    return f"{'.'.join(map(str, error['loc'])) or 'row'}: {message}"
