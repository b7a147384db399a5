"""The rows of a balances file (`loyalty-admin import-balances FILE.csv --programme P`) and the
ledger commands that book them. Pure: no I/O, the day comes in as an argument.

A CSV file with a header line naming its columns, in any order:

| column       | required | what |
| ------------ | -------- | ---- |
| `user_id`    | yes      | the user's id in the programme |
| `points`     | yes      | a whole number, 0 or more (a row of 0 books nothing) |
| `expires_on` | no       | `YYYY-MM-DD`, after today in the programme's time zone (empty: none) |
| `reason`     | no       | up to 250 characters; empty: the command's `--reason` |
| `row_id`     | no       | the row's own id (up to 100 characters), unique in the file |

A row without an expiry leaves it to the programme's expiry policy (the points lifecycle).
Each row becomes one credit booking of variety `Adjustment` from the programme's budget, whose
idempotency key is the row's: `bal:<programme>:<row_id>` when the file has row ids, else
`bal:<programme>:` and 32 hex digits of the SHA-256 of the row's content (user, points, expiry,
reason). So importing the file again, or a corrected copy of it, books only what is new; a row
id booked before with other content is refused. Two rows with the same key in one file are
refused (the second names the first): give such rows row ids, or add them up.
"""

import csv
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, NamedTuple

import orjson

from gateway.admin.import_rows import Command, Refusal, Skipped
from schemas.ledger import BOOKINGS_MAX, Booking, Lineage, TransactionType, Variety
from schemas.topics import user_key

COLUMNS: Final = ("user_id", "points", "expires_on", "reason", "row_id")
REQUIRED_COLUMNS: Final = ("user_id", "points")
ROWS_MAX: Final = 2_000_000
"""Rows of one file: its keys are held in memory to find repeats (about 100 bytes each)."""
FIELD_CHARS_MAX: Final = 1_000
USER_ID_CHARS_MAX: Final = 128
ROW_ID_CHARS_MAX: Final = 100
REASON_CHARS_MAX: Final = 250
POINTS_MAX: Final = 10**12
DAYS_CACHED_MAX: Final = 10_000
DEFAULT_REASON: Final = "Imported balance"
VARIETY: Final = Variety.ADJUSTMENT
_NO_LINEAGE: Final = Lineage()
_WHOLE: Final = re.compile(r"[0-9]+")
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BalanceFileError(ValueError):
    """The file as a whole cannot be read as a balances file (its header, its size)."""


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """A valid row: one credit booking."""

    line: int
    key: str
    user_id: str
    points: int
    expires_on: date | None
    reason: str
    row_id: str | None

    def booking(self) -> Booking:
        """As the ledger validates it (the writer reads the command's JSON into this), built
        without validating again: this row's fields are checked already."""
        return Booking.model_construct(
            idempotency_key=self.key,
            transaction_type=TransactionType.CREDIT,
            variety=VARIETY,
            points=self.points,
            reason=self.reason,
            remote_transaction_id=self.row_id,
            counterparty_user_id=None,
            reverses=None,
            lineage=_NO_LINEAGE,
            user_id=self.user_id,
            expires_on=self.expires_on,
        )

    def booking_fields(self) -> dict[str, object]:
        """The booking's JSON fields, defaults left out (the command is written without
        pydantic: a million rows' models would cost seconds)."""
        fields: dict[str, object] = {
            "idempotency_key": self.key,
            "transaction_type": TransactionType.CREDIT.value,
            "variety": VARIETY.value,
            "points": self.points,
            "reason": self.reason,
            "user_id": self.user_id,
        }
        if self.row_id is not None:
            fields["remote_transaction_id"] = self.row_id
        if self.expires_on is not None:
            fields["expires_on"] = self.expires_on.isoformat()
        return fields


class Header(NamedTuple):
    positions: dict[str, int]
    """Each column's position in a row."""
    width: int


def read_header(names: Sequence[str] | str) -> Header:
    """The columns of the header line; BalanceFileError names what is wrong with it."""
    if isinstance(names, str):
        raise BalanceFileError(f"the header line is {names}")
    if not names:
        raise BalanceFileError("the file is empty: its first line names the columns")
    cleaned = [name.strip().lstrip("\ufeff") for name in names]
    unknown = [name for name in cleaned if name not in COLUMNS]
    if unknown:
        raise BalanceFileError(
            f"unknown column(s) {', '.join(map(repr, unknown))} in the header line; "
            f"the columns are {', '.join(COLUMNS)}"
        )
    repeated = sorted({name for name in cleaned if cleaned.count(name) > 1})
    if repeated:
        raise BalanceFileError(f"column(s) {', '.join(repeated)} named twice in the header line")
    missing = [name for name in REQUIRED_COLUMNS if name not in cleaned]
    if missing:
        raise BalanceFileError(f"the header line lacks the column(s) {', '.join(missing)}")
    return Header({name: index for index, name in enumerate(cleaned)}, len(cleaned))


def csv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, fields) of each record after the header, blank lines left out, or (line
    number, why) for a record that is not CSV (the reader goes on with the next line). Takes
    the lines of a file opened with newline="" (quoted fields may hold line ends); the first
    item is the header's fields ([] for an empty file), for `read_header`."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise BalanceFileError(f"the header line is not CSV: {exc}") from exc
    yield 1, header
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"not CSV: {exc}"
            continue
        if any(field.strip() for field in fields):
            yield reader.line_num, fields


class BalanceRows:
    """Rows to bookings for one programme on `today` (its local day), remembering each key's
    line so that a repeat is refused. Written for speed (a million rows a minute): positions
    looked up once, days parsed once each."""

    def __init__(self, programme_id: str, header: Header, today: date, reason: str) -> None:
        self._programme_id = programme_id
        self._width = header.width
        positions = header.positions
        self._user = positions["user_id"]
        self._points = positions["points"]
        self._expiry = positions.get("expires_on")
        self._reason_at = positions.get("reason")
        self._row_id = positions.get("row_id")
        self._today = today
        self._reason = reason
        self._days: dict[str, date | str] = {}
        self._seen: dict[int, int] = {}
        self.rows = 0

    def row(self, line: int, fields: Sequence[str] | str) -> BalanceRow | Skipped | Refusal:
        """The record's row; `fields` is why, for a record that is not CSV."""
        self.rows += 1
        if self.rows > ROWS_MAX:
            raise BalanceFileError(f"more than {ROWS_MAX} rows: split the file")
        if isinstance(fields, str):
            return Refusal(line, fields)
        parsed = self._parse(line, fields)
        if isinstance(parsed, BalanceRow):
            first = self._seen.setdefault(_fingerprint(parsed), line)
            if first != line:
                return Refusal(line, _repeat(parsed, first))
        return parsed

    def _parse(self, line: int, fields: Sequence[str]) -> BalanceRow | Skipped | Refusal:
        if len(fields) != self._width:
            return Refusal(line, f"{len(fields)} fields where the header names {self._width}")
        if max(map(len, fields)) > FIELD_CHARS_MAX:
            return Refusal(line, f"a field longer than {FIELD_CHARS_MAX} characters")
        user_id = fields[self._user].strip()
        if not user_id or len(user_id) > USER_ID_CHARS_MAX:
            return Refusal(line, f"user_id: 1 to {USER_ID_CHARS_MAX} characters, not {user_id!r}")
        text = fields[self._points].strip()
        if text.isascii() and text.isdigit() and len(text) <= 13:
            points = int(text)
            if points > POINTS_MAX:
                return Refusal(line, f"points: {text} is more than {POINTS_MAX}")
        else:
            return Refusal(line, f"points: {_points_problem(text)}")
        expires_on: date | None = None
        if self._expiry is not None and (day := fields[self._expiry].strip()):
            found = self._days.get(day)
            if found is None:
                found = _expiry_day(day, self._today)
                if len(self._days) < DAYS_CACHED_MAX:
                    self._days[day] = found
            if isinstance(found, str):
                return Refusal(line, f"expires_on: {found}")
            expires_on = found
        reason = self._reason
        if self._reason_at is not None:
            reason = fields[self._reason_at].strip() or reason
            if len(reason) > REASON_CHARS_MAX:
                return Refusal(line, f"reason: longer than {REASON_CHARS_MAX} characters")
        row_id: str | None = None
        if self._row_id is not None:
            row_id = fields[self._row_id].strip()
            if not row_id or len(row_id) > ROW_ID_CHARS_MAX:
                return Refusal(line, f"row_id: 1 to {ROW_ID_CHARS_MAX} characters, not {row_id!r}")
        if points == 0:
            return Skipped(line)
        key = balance_key(self._programme_id, user_id, points, expires_on, reason, row_id)
        return BalanceRow(line, key, user_id, points, expires_on, reason, row_id)


def _repeat(row: BalanceRow, first: int) -> str:
    if row.row_id is not None:
        return f"row_id {row.row_id!r} repeats line {first}"
    return (
        f"the same user, points, expiry and reason as line {first}: "
        "give the two rows row ids, or add them up"
    )


def _points_problem(text: str) -> str:
    if _WHOLE.fullmatch(text):
        return f"{text} is more than {POINTS_MAX}"
    if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
        return f"{text} is negative: a balance is 0 or more"
    return f"{text!r} is not a whole number"


def _expiry_day(text: str, today: date) -> date | str:
    """The day, or why it is refused."""
    if not _DAY.fullmatch(text):
        return f"{text!r} is not a day (YYYY-MM-DD)"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"{text!r} is not a day of the calendar"
    if day <= today:
        return f"{text} is not after today ({today.isoformat()}): these points have expired"
    return day


def balance_key(
    programme_id: str,
    user_id: str,
    points: int,
    expires_on: date | None,
    reason: str,
    row_id: str | None,
) -> str:
    """The row's idempotency key: by its row id, or by its content."""
    if row_id is not None:
        return f"bal:{programme_id}:{row_id}"
    day = "" if expires_on is None else expires_on.isoformat()
    content = "\x1f".join((user_id, str(points), day, reason))
    return f"bal:{programme_id}:{hashlib.sha256(content.encode()).hexdigest()[:32]}"


def _fingerprint(row: BalanceRow) -> int:
    """128 bits of the row's key: what the repeat check holds per row instead of the key. A key
    from the content is a hash already; a row id is hashed."""
    if row.row_id is None:
        return int(row.key[-32:], 16)
    return int.from_bytes(hashlib.blake2b(row.key.encode(), digest_size=16).digest())


COMMAND_BYTES_MAX: Final = 512 * 1024
"""A command's JSON, at most: well under Kafka's 1 MiB record limit, whatever the rows hold."""
_BOOKING_BYTES_FIXED: Final = 160
"""A booking's JSON besides its key, user, reason and row id (names, punctuation, points, day)."""


def command_groups(rows: Sequence[BalanceRow]) -> list[Sequence[BalanceRow]]:
    """Consecutive rows, up to `BOOKINGS_MAX` a command and `COMMAND_BYTES_MAX` of JSON."""
    groups: list[Sequence[BalanceRow]] = []
    start, size = 0, 0
    for index, row in enumerate(rows):
        row_bytes = _booking_bytes(row)
        if index > start and (
            index - start >= BOOKINGS_MAX or size + row_bytes > COMMAND_BYTES_MAX
        ):
            groups.append(rows[start:index])
            start, size = index, 0
        size += row_bytes
    if start < len(rows):
        groups.append(rows[start:])
    return groups


def _booking_bytes(row: BalanceRow) -> int:
    """At most the booking's JSON bytes (a character is at most 6 bytes of JSON, `\\uXXXX`)."""
    text = len(row.key) + len(row.user_id) + len(row.reason) + len(row.row_id or "")
    return _BOOKING_BYTES_FIXED + 6 * text


def balance_command(
    programme_id: str, rows: Sequence[BalanceRow], import_id: str, *, retry: str = ""
) -> Command:
    """One command crediting every row's user, all or nothing, keyed by its first row's user.
    Its id follows from what it books, so the same rows make the same command again; `retry`
    (given when the ledger refused that command once) is added to it."""
    if not 1 <= len(rows) <= BOOKINGS_MAX:
        raise ValueError(f"a command books 1 to {BOOKINGS_MAX} rows, not {len(rows)}")
    bookings = [row.booking_fields() for row in rows]
    digest = hashlib.sha256(programme_id.encode())
    digest.update(orjson.dumps(bookings))
    command_id = f"bal_{digest.hexdigest()[:32]}{retry}"
    user_id = rows[0].user_id
    command = {
        "command_id": command_id,
        "programme_id": programme_id,
        "user_id": user_id,
        "bookings": bookings,
        "explanation": {
            "import": "balances",
            "import_id": import_id,
            "lines": [rows[0].line, rows[-1].line],
        },
    }
    return Command(command_id, user_key(programme_id, user_id), orjson.dumps(command))
