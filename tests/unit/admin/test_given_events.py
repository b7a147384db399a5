"""`loyalty-admin import-events --as-given` without Kafka or Postgres: each row's command, its
ids (a reference gives the id its partner's live event got), and refusals by line."""

from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from gateway.admin.given_events import GivenBooking, GivenPlan, GivenRows
from gateway.admin.import_rows import Refusal
from gateway.admin.programmes import load_file
from ledger import reads
from schemas.events import event_id_for
from schemas.ledger import LedgerCommand, TransactionType, Variety

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "programmes" / "demo.yaml"
NOW = datetime(2026, 12, 4, 18, tzinfo=UTC)


def given(*rows: dict[str, object] | bytes) -> list[GivenBooking | Refusal]:
    demo = load_file(DEMO)
    parser = GivenRows({demo.programme_id: demo}, "imp_1", NOW)
    lines = [
        (n, r if isinstance(r, bytes) else orjson.dumps({"programme_id": "demo"} | r))
        for n, r in enumerate(rows, 1)
    ]
    return list(parser.rows(iter(lines)))


def test_credits_and_debits_with_their_lineage() -> None:
    credit, debit = given(
        {"user_id": "ann", "occurred_at": "2024-01-05T11:00:00+01:00", "points": 100,
         "expires_on": "2027-01-01", "reason": "Welcome"},
        {"user_id": "ann", "occurred_at": "2024-02-01T10:00:00Z", "points": -30,
         "variety": "Redemption"},
    )  # fmt: skip
    assert isinstance(credit, GivenBooking)
    assert isinstance(debit, GivenBooking)
    command = LedgerCommand.model_validate_json(credit.encoded.value)
    (booking,) = command.bookings
    assert (booking.transaction_type, booking.points, booking.reason) == (
        TransactionType.CREDIT, 100, "Welcome",
    )  # fmt: skip
    assert booking.expires_on == date(2027, 1, 1)
    assert booking.idempotency_key == f"{command.command_id}:as-given"
    assert booking.lineage.occurred_at == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert credit.encoded.key == b"demo:ann"
    (spent,) = debit.command.bookings
    assert (spent.transaction_type, spent.points, spent.variety) == (
        TransactionType.DEBIT, 30, Variety.REDEMPTION,
    )  # fmt: skip
    assert debit.points == -30
    # The same row again is the same command: a rerun books nothing more.
    (repeat,) = given(
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z", "points": 100,
         "expires_on": "2027-01-01", "reason": "Welcome"},
    )  # fmt: skip
    assert isinstance(repeat, GivenBooking)
    assert repeat.key == credit.key
    plan = GivenPlan(reads.booking_digest, reads.command_digest)
    assert plan.digest(repeat) == plan.digest(credit)
    assert plan.retry([credit]) is None


def test_a_reference_gives_the_live_events_id() -> None:
    (row,) = given(
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z", "points": 5,
         "partner_id": "mgpass-demo", "reference_id": "order-1"},
    )  # fmt: skip
    assert isinstance(row, GivenBooking)
    assert row.command.command_id == event_id_for("demo", "mgpass-demo", "order-1")


def test_refusals_name_their_line_and_reason() -> None:
    refused = given(
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z", "points": 0},
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z", "points": -3,
         "expires_on": "2027-01-01"},
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00", "points": 3},
        {"programme_id": "nope", "user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z",
         "points": 3},
        {"user_id": "ann", "occurred_at": "2030-01-05T10:00:00Z", "points": 3},
        {"user_id": "ann", "occurred_at": "2024-01-05T10:00:00Z", "points": 3,
         "variety": "Person 2 Person Transfer"},
        b"{not json",
    )  # fmt: skip
    assert all(isinstance(r, Refusal) for r in refused)
    reasons = [(r.line, r.reason) for r in refused if isinstance(r, Refusal)]
    assert reasons[0] == (1, "points: 0 books nothing (positive credits, negative debits)")
    assert reasons[1] == (2, "expires_on: only a credit's points expire")
    assert reasons[2] == (3, "occurred_at: Input should have timezone info")
    assert reasons[3] == (4, "programme_id: no programme 'nope' is stored")
    assert reasons[4][1].startswith("occurred_at: 2030-01-05T10:00:00Z is more than")
    assert reasons[5] == (6, "variety: 'Person 2 Person Transfer' cannot be imported as given")
    assert reasons[6][1].startswith("row: Invalid JSON")
