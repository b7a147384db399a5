"""`loyalty-admin import-balances FILE.csv --programme P`: opening balances brought from another
engine, booked by the ledger writer as credits from the programme's budget.

The file's format and each row's idempotency key are in `balances_file`; how rows are booked
and read back (a refused command split until each refused row stands alone) in
`booking_import`. The file is read twice: once to hash it (the import's id, in every command's
explanation), count its lines (the progress bar) and check that it is UTF-8, so that a file
that cannot be decoded books nothing; then record by record.
"""

import codecs
import hashlib
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from gateway.admin import programmes
from gateway.admin.balances_file import (
    DEFAULT_REASON,
    BalanceFileError,
    BalanceRow,
    BalanceRows,
    balance_command,
    command_groups,
    csv_records,
    read_header,
)
from gateway.admin.booking_import import WAIT_S_DEFAULT, BookingImport, ImportCounts, LedgerSilent
from gateway.admin.import_rows import Command, Refusal, Skipped
from gateway.admin.ledger_link import ledger_link
from gateway.admin.progress import RowsProgress, rows_progress
from gateway.admin.refusals import Refused
from gateway.admin.resources import AdminSettings, database
from ledger import reads
from schemas.ledger import BOOKINGS_MAX, LedgerCommand

EXIT_REFUSED: Final = 2
_READ_BYTES: Final = 1 << 20

Parsed = BalanceRow | Skipped | Refusal


@dataclass(frozen=True, slots=True)
class FileFacts:
    import_id: str
    """`imp_` and 16 hex digits of the file's SHA-256."""
    lines: int


def file_facts(path: Path) -> FileFacts:
    """The file's id and line count; Refused if it cannot be read or is not UTF-8."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    lines = 0
    offset = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_READ_BYTES):
                digest.update(chunk)
                lines += chunk.count(b"\n")
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise Refused(
                        f"{path}: not UTF-8 at byte {offset + exc.start} (save it as UTF-8)"
                    ) from exc
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise Refused(f"{path}: not UTF-8 at its end (save it as UTF-8)") from exc
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from exc
    return FileFacts(f"imp_{digest.hexdigest()[:16]}", lines)


class BalancePlan:
    """`booking_import.ImportPlan` of balance rows."""

    rows_per_command = BOOKINGS_MAX

    def __init__(self, programme_id: str, import_id: str) -> None:
        self._programme_id = programme_id
        self._import_id = import_id

    def groups(self, rows: Sequence[BalanceRow]) -> list[Sequence[BalanceRow]]:
        return command_groups(rows)

    def command(self, rows: Sequence[BalanceRow]) -> Command:
        return balance_command(self._programme_id, rows, self._import_id)

    def retry(self, rows: Sequence[BalanceRow]) -> Command:
        # A fresh id each time: the rows' keys, not the command's id, keep them booked once.
        suffix = f"_r{secrets.token_hex(6)}"
        return balance_command(self._programme_id, rows, self._import_id, retry=suffix)

    def digest(self, row: BalanceRow) -> bytes:
        return reads.booking_digest(self._programme_id, row.user_id, row.booking())

    def command_digest(self, command: Command) -> bytes:
        return reads.command_digest(LedgerCommand.model_validate_json(command.value))

    def command_conflict(self, command_id: str) -> str:
        return f"idempotency_conflict: command {command_id} was recorded for other rows"

    def conflict(self, row: BalanceRow) -> str:
        return (
            f"idempotency_conflict: {row.key} was booked before with another user, points, "
            "expiry or reason (correct a booked balance with a booking of its own)"
        )


async def run(
    settings: AdminSettings,
    path: Path,
    programme_id: str,
    *,
    topic: str,
    reason: str = DEFAULT_REASON,
    dry_run: bool = False,
    wait_s: float = WAIT_S_DEFAULT,
) -> int:
    """Imports the file; returns the exit status (2 when rows were refused)."""
    facts = file_facts(path)
    async with database(settings.database_url) as pool:
        config = await programmes.stored_config(pool, programme_id)
    today = datetime.now(UTC).astimezone(ZoneInfo(config.time_zone)).date()
    with path.open(encoding="utf-8-sig", newline="") as file:
        records = csv_records(file)
        try:
            header = read_header(next(records)[1])
        except BalanceFileError as exc:
            raise Refused(f"{path}: {exc}") from exc
        parsed = _parsed(BalanceRows(programme_id, header, today, reason), records, path)
        with rows_progress(f"{programme_id} balances", max(0, facts.lines - 1)) as progress:
            if dry_run:
                counts = _check(parsed, progress.refused)
            else:
                counts = await _book(settings, topic, programme_id, facts, parsed, progress, wait_s)
    print(summary(path, facts.import_id, programme_id, counts, dry_run=dry_run))
    return EXIT_REFUSED if counts.refused else 0


def _parsed(
    rows: BalanceRows, records: Iterator[tuple[int, list[str] | str]], path: Path
) -> Iterator[Parsed]:
    try:
        for line, fields in records:
            yield rows.row(line, fields)
    except BalanceFileError as exc:
        raise Refused(f"{path}: {exc}") from exc


def _check(parsed: Iterator[Parsed], refused: Callable[[int, str], None]) -> ImportCounts:
    """A dry run: the rows' checks, nothing read from the ledger or published."""
    counts = ImportCounts()
    for row in parsed:
        if isinstance(row, Refusal):
            counts.refused += 1
            refused(row.line, row.reason)
        elif isinstance(row, Skipped):
            counts.skipped += 1
        else:
            counts.booked += 1
            counts.booked_points += row.points
    return counts


async def _book(
    settings: AdminSettings,
    topic: str,
    programme_id: str,
    facts: FileFacts,
    parsed: Iterator[Parsed],
    progress: RowsProgress,
    wait_s: float,
) -> ImportCounts:
    plan = BalancePlan(programme_id, facts.import_id)
    async with ledger_link(settings.database_url, settings.kafka_bootstrap_servers, topic) as link:
        engine = BookingImport(link, plan, progress, wait_s=wait_s)
        try:
            return await engine.run(parsed)
        except LedgerSilent as exc:
            print(f"so far: {counts_text(engine.counts)}", file=sys.stderr)
            raise Refused(
                f"import-balances: {exc}: is the ledger writer running? Importing the file "
                "again books nothing twice"
            ) from exc


def summary(
    path: Path, import_id: str, programme_id: str, counts: ImportCounts, *, dry_run: bool
) -> str:
    if dry_run:
        return (
            f"{path}: {counts.booked} valid rows ({counts.booked_points} points), "
            f"{counts.skipped} of 0 points, {counts.refused} refused; nothing published"
        )
    return f"{path}: import {import_id} into {programme_id}: {counts_text(counts)}"


def counts_text(counts: ImportCounts) -> str:
    return (
        f"{counts.booked} rows booked ({counts.booked_points} points), "
        f"{counts.already_booked} already booked, {counts.skipped} of 0 points, "
        f"{counts.refused} refused"
    )
