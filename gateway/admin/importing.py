"""`loyalty-admin import-events FILE.jsonl`: an operator loads history, the one way in for events
dated outside a programme's event-time policy (the partner API refuses them, the processors
dead-letter them).

One JSON object a line: `programme_id`, `user_id`, `event_type` and `occurred_at` (RFC 3339 with
a time zone) are required; `metadata`, `partner_id` and `reference_id` are optional. Each row is
checked against the programme stored in Postgres: its event type, its partner (which must be
allowed the event type), the event type's parameters, and a date not in the future beyond the
programme's `event_time.future_max_s`. A refused row is reported with its line number and why;
the valid rows are published, and the command exits 2 when any row was refused (`--dry-run`
checks the file and publishes nothing).

Every event gets a deterministic id, so importing a file again, or a corrected copy of it, books
nothing more. A row with a `reference_id` gets the id its partner's live publish of that
reference gets (scope: programme and partner, or "" without a partner), so history that overlaps
what the partner already sent live is not counted twice. A row without one gets an id from its
content (programme, user, event type, instant, metadata, partner): two identical rows are one
event, so give rows that are two events their references.

Events carry the file's `import_id` (`imp_` and 16 hex digits of its SHA-256), which exempts
them from the event-time policy, and are keyed `programme_id:user_id`: one user's rows are
decided in the file's order, so sort the file by `occurred_at`. Memory is bounded: the file is
read a line at a time (once more to hash it), a line holds at most `LINE_BYTES_MAX` bytes, and
at most `runtime.kafka.IN_FLIGHT_MAX` sends are unacknowledged (idempotent, acks=all).
"""

import hashlib
import itertools
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import asyncpg
from aiokafka.errors import KafkaError
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
)

from gateway.admin import programmes
from gateway.admin.booking_import import WAIT_S_DEFAULT, BookingImport, ImportCounts, LedgerSilent
from gateway.admin.given_events import GivenPlan, GivenRows
from gateway.admin.import_rows import (
    LINE_BYTES_MAX,
    Refusal,
    dated_in_the_future,
    history_event_id,
)
from gateway.admin.ledger_link import ledger_link
from gateway.admin.progress import RowsProgress, rows_progress
from gateway.partner.models import MAX_METADATA_KEYS, rfc3339_text
from ledger import reads
from runtime.kafka import produce
from schemas import topics
from schemas.events import EventV1, Identifier
from schemas.programme import TIER_ASSIGNED_EVENT_TYPE, ProgrammeConfig, parameter_problem

EXIT_REFUSED: Final = 2


class ImportRow(BaseModel):
    """One line of the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    programme_id: Identifier
    user_id: Identifier
    event_type: Identifier
    occurred_at: AwareDatetime
    metadata: dict[str, JsonValue] = Field(default_factory=dict, max_length=MAX_METADATA_KEYS)
    partner_id: Identifier | None = None
    reference_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: object) -> object:
        return rfc3339_text(value)


async def run(
    bootstrap_servers: str,
    database_url: str,
    path: Path,
    topic: str,
    dry_run: bool,
    *,
    as_given: bool = False,
    wait_s: float = WAIT_S_DEFAULT,
) -> int:
    """Imports the file at `path`, decided by the rules (published to the events topic) or,
    `as_given`, booked as its rows give their points (ledger commands, `given_events`, read
    back); the exit status: 0, or 2 when rows were refused or the file could not be read or
    published (one line on stderr, as every refusal of loyalty-admin)."""
    try:
        import_id = import_id_of(path)
        lines = lines_in(path)
    except OSError as exc:
        return _failed(f"cannot read {path}: {exc.strerror or exc}")
    catalog = await stored_catalog(database_url)
    now = datetime.now(UTC)
    with rows_progress("history", lines) as progress:
        if as_given:
            return await _as_given(
                bootstrap_servers, database_url, path, topic, dry_run, import_id, wait_s,
                GivenRows(catalog, import_id, now), progress,
            )  # fmt: skip
        importer = Importer(catalog, import_id, now)
        records = _advancing(
            importer.records(lines_of(path), report=progress.refused_line), progress
        )
        if dry_run:
            valid = sum(1 for _ in records)
            print(f"{path}: {valid} valid rows, {importer.refused} refused; nothing published")
        else:
            try:
                published = await produce(bootstrap_servers, topic, records)
            except KafkaError as exc:
                return _failed(f"Kafka: {exc}; importing the file again publishes nothing twice")
            print(
                f"{path}: import {import_id}: {published} events published to {topic}, "
                f"{importer.refused} rows refused"
            )
    return EXIT_REFUSED if importer.refused else 0


async def _as_given(
    bootstrap_servers: str,
    database_url: str,
    path: Path,
    topic: str,
    dry_run: bool,
    import_id: str,
    wait_s: float,
    given: GivenRows,
    progress: RowsProgress,
) -> int:
    rows = given.rows(lines_of(path))
    if dry_run:
        counts = ImportCounts()
        for row in rows:
            if isinstance(row, Refusal):
                counts.refused += 1
                progress.refused(row.line, row.reason)
            else:
                counts.booked += 1
        print(f"{path}: {counts.booked} valid rows, {counts.refused} refused; nothing published")
        return EXIT_REFUSED if counts.refused else 0
    plan = GivenPlan(reads.booking_digest, reads.command_digest)
    async with ledger_link(database_url, bootstrap_servers, topic) as link:
        engine = BookingImport(link, plan, progress, wait_s=wait_s)
        try:
            counts = await engine.run(rows)
        except LedgerSilent as exc:
            return _failed(f"{exc}: is the ledger writer running? Importing the file again "
                           "books nothing twice")  # fmt: skip
    print(
        f"{path}: import {import_id}: {counts.booked} rows booked as given "
        f"({counts.booked_points} points), {counts.already_booked} already booked, "
        f"{counts.refused} refused"
    )
    return EXIT_REFUSED if counts.refused else 0


def _advancing(
    records: Iterator[tuple[bytes, bytes]], progress: RowsProgress
) -> Iterator[tuple[bytes, bytes]]:
    for record in records:
        progress.settled(1)
        yield record


def _failed(message: str) -> int:
    print(f"error: import-events: {message}", file=sys.stderr)
    return EXIT_REFUSED


def lines_in(path: Path) -> int:
    """The file's line count (the progress bar's total)."""
    with path.open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


def import_id_of(path: Path) -> str:
    with path.open("rb") as file:
        return "imp_" + hashlib.file_digest(file, "sha256").hexdigest()[:16]


async def stored_catalog(database_url: str) -> dict[str, ProgrammeConfig]:
    """Every stored programme's configuration, by id."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        configs = await programmes.stored_configs(pool)
    return {config.programme_id: config for config in configs}


def lines_of(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each line that is not blank; None for a line longer than
    `LINE_BYTES_MAX`, whose rest is skipped unread into memory."""
    with path.open("rb") as file:
        for number in itertools.count(1):
            line = file.readline(LINE_BYTES_MAX + 1)
            if not line:
                return
            if len(line) > LINE_BYTES_MAX and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):
                    line = file.readline(LINE_BYTES_MAX)
                yield number, None
            elif line.strip():
                yield number, line


class Importer:
    """Rows to events against the stored programmes, at `now` (the import's clock), counting
    the refused rows."""

    def __init__(
        self, catalog: Mapping[str, ProgrammeConfig], import_id: str, now: datetime
    ) -> None:
        self._catalog = catalog
        self._import_id = import_id
        self._now = now
        self.refused = 0

    def records(
        self, lines: Iterator[tuple[int, bytes | None]], report: Callable[[str], None]
    ) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of each valid row's event; `report` hears of each refused row."""
        for number, line in lines:
            event = self.event_of(line)
            if isinstance(event, str):
                self.refused += 1
                report(f"line {number}: {event}")
                continue
            yield (
                topics.user_key(event.programme_id, event.user_id),
                event.model_dump_json().encode(),
            )

    def event_of(self, line: bytes | None) -> EventV1 | str:
        """The row's event, or why the row is refused."""
        if line is None:
            return f"longer than {LINE_BYTES_MAX} bytes"
        try:
            row = ImportRow.model_validate_json(line)
        except ValidationError as exc:
            return _summary(exc)
        config = self._catalog.get(row.programme_id)
        if config is None:
            return f"programme_id: no programme {row.programme_id!r} is stored"
        problem = row_problem(row, config, self._now)
        if problem is not None:
            return problem
        return EventV1(
            event_id=event_id_of(row),
            programme_id=row.programme_id,
            user_id=row.user_id,
            event_type=row.event_type,
            occurred_at=row.occurred_at,
            partner_id=row.partner_id,
            reference_id=row.reference_id,
            environment=config.environment,
            metadata=row.metadata,
            import_id=self._import_id,
        )


def row_problem(row: ImportRow, config: ProgrammeConfig, now: datetime) -> str | None:
    """What the engine would refuse in the row (as its decision's `invalid` outcome), or a date
    in the future: history lies in the past."""
    name = row.event_type
    event_type = config.event_type(name)
    if name != TIER_ASSIGNED_EVENT_TYPE and event_type is None:
        return f"event_type: {name!r} is not an event type of programme {config.programme_id!r}"
    if row.partner_id is not None:
        partner = config.partner(row.partner_id)
        if partner is None:
            return f"partner_id: {row.partner_id!r} is not a partner of {config.programme_id!r}"
        if not partner.allows(name):
            return f"event_type: partner {row.partner_id!r} may not publish {name!r}"
    parameters = () if event_type is None else event_type.parameters
    problem = parameter_problem(parameters, row.metadata)
    if problem is not None:
        return f"metadata: {problem}"
    return dated_in_the_future(config, row.occurred_at, now)


def event_id_of(row: ImportRow) -> str:
    return history_event_id(row, "row")


def _summary(exc: ValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(problems)
