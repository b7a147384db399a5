"""`loyalty-admin import-balances` without Kafka or Postgres: the file's rows and their refusals,
the commands that book them, and the import engine (`booking_import`) against a ledger in memory:
a rerun books nothing more, a refused row is found by halving its command and refused alone,
nothing is half-booked, and a silent ledger stops the import."""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import pytest

from gateway.admin.balances_file import (
    BalanceFileError,
    BalanceRow,
    BalanceRows,
    balance_command,
    balance_key,
    command_groups,
    csv_records,
    read_header,
)
from gateway.admin.booking_import import BookingImport, LedgerSilent
from gateway.admin.import_balances import BalancePlan
from gateway.admin.import_rows import Command, Refusal, Skipped
from ledger import reads
from schemas.ledger import (
    BOOKINGS_MAX,
    CommandOutcome,
    LedgerCommand,
    OutcomeStatus,
    RejectionReason,
)

TODAY = date(2026, 12, 4)


def parse(text: str, *, reason: str = "Imported balance") -> list[BalanceRow | Skipped | Refusal]:
    records = csv_records(io.StringIO(text))
    header = read_header(next(records)[1])
    rows = BalanceRows("demo", header, TODAY, reason)
    return [rows.row(line, fields) for line, fields in records]


def test_rows_their_keys_and_their_refusals() -> None:
    parsed = parse(
        "points,user_id,expires_on,reason\n"
        "10,ann,2027-01-31,\n"
        "0,bob,,\n"
        "-5,cid,,\n"
        "ten,cid,,\n"
        "5,dan,2026-12-04,\n"
        "5,dan,2027-02-30,\n"
        "5,dan,31/01/2027,\n"
        "5,,,\n"
        "5,eve\n"
        "\n"
        "10,ann,2027-01-31,\n"
        "7,fay,,Welcome back\n"
    )
    first, zero, *refused, fay = parsed
    assert isinstance(first, BalanceRow)
    assert (first.line, first.user_id, first.points, first.expires_on, first.reason) == (
        2, "ann", 10, date(2027, 1, 31), "Imported balance",
    )  # fmt: skip
    assert first.key == balance_key("demo", "ann", 10, date(2027, 1, 31), "Imported balance", None)
    assert zero == Skipped(3)
    assert [(r.line, r.reason) for r in refused if isinstance(r, Refusal)] == [
        (4, "points: -5 is negative: a balance is 0 or more"),
        (5, "points: 'ten' is not a whole number"),
        (6, "expires_on: 2026-12-04 is not after today (2026-12-04): these points have expired"),
        (7, "expires_on: '2027-02-30' is not a day of the calendar"),
        (8, "expires_on: '31/01/2027' is not a day (YYYY-MM-DD)"),
        (9, "user_id: 1 to 128 characters, not ''"),
        (10, "2 fields where the header names 4"),
        (12, "the same user, points, expiry and reason as line 2: give the two rows row ids, "
             "or add them up"),
    ]  # fmt: skip
    assert isinstance(fay, BalanceRow)
    assert fay.reason == "Welcome back"


def test_row_ids_make_the_keys() -> None:
    a, b, repeat = parse("user_id,points,row_id\nann,10,r1\nann,10,r2\nbob,3,r1\n")
    assert isinstance(a, BalanceRow)
    assert isinstance(b, BalanceRow)
    assert (a.key, b.key) == ("bal:demo:r1", "bal:demo:r2")
    assert repeat == Refusal(4, "row_id 'r1' repeats line 2")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("user_id\nann\n", "lacks the column(s) points"),
        ("user_id,points,colour\n", "unknown column(s) 'colour'"),
        ("user_id,points,points\n", "named twice"),
    ],
)
def test_a_bad_header_refuses_the_file(text: str, problem: str) -> None:
    with pytest.raises(BalanceFileError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


def rows(count: int, *, start: int = 0) -> list[BalanceRow]:
    return [
        BalanceRow(i + 2, f"bal:demo:r{i}", f"u{i}", 10 + i, None, "Imported balance", f"r{i}")
        for i in range(start, start + count)
    ]


def test_commands_are_valid_ledger_commands_of_at_most_a_thousand_rows() -> None:
    groups = command_groups(rows(2_500))
    assert [len(g) for g in groups] == [BOOKINGS_MAX, BOOKINGS_MAX, 500]
    command = balance_command("demo", groups[0], "imp_1")
    parsed = LedgerCommand.model_validate_json(command.value)
    assert parsed.command_id == command.command_id
    assert command.key == b"demo:u0"
    assert [b.user_id for b in parsed.bookings][:2] == ["u0", "u1"]
    assert {b.remote_transaction_id for b in parsed.bookings[:1]} == {"r0"}
    # The same rows make the same command: a rerun republishes nothing new.
    assert balance_command("demo", groups[0], "imp_2").command_id == command.command_id
    long_reason = [
        BalanceRow(2 + i, f"k{i}", "u", 1, None, "x" * 250, None) for i in range(BOOKINGS_MAX)
    ]
    assert len(command_groups(long_reason)) > 1
    with pytest.raises(ValueError, match="1 to 1000"):
        balance_command("demo", [], "imp_1")


@dataclass
class MemoryLedger:
    """Books commands as the writer does: all or nothing, a key once; refuses a command that
    credits a user in `refuse`."""

    refuse: set[str] = field(default_factory=set)
    silent: bool = False
    keys: dict[str, bytes] = field(default_factory=dict)
    outcomes_: dict[str, tuple[bytes, CommandOutcome]] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)

    async def booked(self, keys: Sequence[str]) -> dict[str, bytes]:
        return {key: self.keys[key] for key in keys if key in self.keys}

    async def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        return {c: self.outcomes_[c][1] for c in command_ids if c in self.outcomes_}

    async def stored(self, command_ids: Sequence[str]) -> dict[str, tuple[bytes, CommandOutcome]]:
        return {c: self.outcomes_[c] for c in command_ids if c in self.outcomes_}

    async def publish(self, commands: Sequence[Command]) -> None:
        for encoded in commands:
            self.published.append(encoded.command_id)
            if self.silent:
                continue
            command = LedgerCommand.model_validate_json(encoded.value)
            users = {b.user_id or command.user_id for b in command.bookings}
            if users & self.refuse:
                outcome = CommandOutcome(
                    command_id=command.command_id,
                    status=OutcomeStatus.REJECTED,
                    points=0,
                    reason="the budget is spent",
                    reason_code=RejectionReason.PROGRAMME_BUDGET_EXHAUSTED,
                )
            else:
                for b in command.bookings:
                    user = b.user_id or command.user_id
                    self.keys[b.idempotency_key] = reads.booking_digest("demo", user, b)
                points = sum(b.points for b in command.bookings)
                outcome = CommandOutcome(
                    command_id=command.command_id, status=OutcomeStatus.BOOKED, points=points
                )
            self.outcomes_[command.command_id] = (reads.command_digest(command), outcome)


@dataclass
class Notes:
    refusals: list[tuple[int, str]] = field(default_factory=list)
    settled_rows: int = 0

    def refused(self, line: int, reason: str) -> None:
        self.refusals.append((line, reason))

    def settled(self, rows: int) -> None:
        self.settled_rows += rows


async def test_a_rerun_books_nothing_more_and_a_refused_row_stands_alone() -> None:
    ledger = MemoryLedger(refuse={"u1234"})
    plan = BalancePlan("demo", "imp_1")
    notes = Notes()
    given = rows(3_000)
    counts = await BookingImport(ledger, plan, notes).run([*given, Skipped(9_999)])
    assert (counts.booked, counts.refused, counts.skipped, counts.already_booked) == (
        2_999, 1, 1, 0,
    )  # fmt: skip
    assert counts.booked_points == sum(r.points for r in given) - (10 + 1234)
    assert notes.refusals == [(1236, "programme_budget_exhausted: the budget is spent")]
    assert notes.settled_rows == 3_001
    assert len(ledger.keys) == 2_999
    assert "bal:demo:r1234" not in ledger.keys

    ledger.refuse.clear()
    again = await BookingImport(ledger, plan, Notes()).run(given)
    assert (again.booked, again.already_booked, again.refused) == (1, 2_999, 0)
    assert again.booked_points == 10 + 1234
    third = await BookingImport(ledger, plan, Notes()).run(given)
    assert (third.booked, third.already_booked, third.commands) == (0, 3_000, 0)


async def test_a_key_booked_with_other_content_is_refused() -> None:
    ledger = MemoryLedger()
    plan = BalancePlan("demo", "imp_1")
    await BookingImport(ledger, plan, Notes()).run(rows(3))
    changed = [r if r.line != 3 else BalanceRow(3, r.key, r.user_id, 99, None, r.reason, r.row_id)
               for r in rows(3)]  # fmt: skip
    notes = Notes()
    counts = await BookingImport(ledger, plan, notes).run(changed)
    assert (counts.booked, counts.already_booked, counts.refused) == (0, 2, 1)
    assert notes.refusals[0][0] == 3
    assert notes.refusals[0][1].startswith("idempotency_conflict: bal:demo:r1 was booked before")


async def test_a_silent_ledger_stops_the_import() -> None:
    ticks = iter(range(0, 10_000, 10))
    engine = BookingImport(
        MemoryLedger(silent=True),
        BalancePlan("demo", "imp_1"),
        Notes(),
        wait_s=30,
        clock=lambda: float(next(ticks)),
    )
    with pytest.raises(LedgerSilent, match="no outcome from the ledger for 30 s while 2 rows"):
        await engine.run(rows(2))


def test_a_rows_booking_is_the_one_the_ledger_validates() -> None:
    (row,) = parse("user_id,points,expires_on,row_id\nann,10,2027-01-31,r1\n")
    assert isinstance(row, BalanceRow)
    command = LedgerCommand.model_validate_json(balance_command("demo", [row], "imp_1").value)
    (validated,) = command.bookings
    assert row.booking() == validated
    assert reads.booking_digest("demo", "ann", row.booking()) == reads.booking_digest(
        "demo", "ann", validated
    )
