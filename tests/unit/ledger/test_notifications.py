"""The writer's notifications: an outcome's columns travel in the payload and read back as the
stored outcome would; an outcome too large for a payload goes as its id alone."""

from datetime import UTC, datetime

import pytest
from pydantic import JsonValue

from ledger.core.batch import Outcome
from ledger.core.columns import Row, command_outcome_columns
from ledger.core.rows import outcome_record
from ledger.notifications import notify_payloads
from ledger.queries import outcome_from_row
from schemas.ledger import CommandOutcome, OutcomeStatus, RejectionReason
from schemas.notifications import NOTIFY_PAYLOAD_BYTES, read_notification

RECORDED_AT = datetime(2026, 11, 22, 10, 30, 15, 123456, tzinfo=UTC)


def outcome_row(
    command_id: str, outcome: Outcome, explanation: JsonValue = None, fingerprint: str | None = None
) -> Row:
    columns = command_outcome_columns(
        command_id, b"\x00" * 32, "prog", "alice", explanation, None, None, fingerprint
    )
    return outcome_record(outcome, columns, RECORDED_AT)


def test_a_notified_outcome_reads_back_as_stored() -> None:
    explanation: JsonValue = {
        "rules": [{"rule_id": "article-read", "points": 5}],
        "status": "awarded",
    }
    booked = Outcome("evt_1", OutcomeStatus.BOOKED, 5, None, 105)
    rejected = Outcome(
        "evt_2",
        OutcomeStatus.REJECTED,
        0,
        "Not enough points",
        3,
        RejectionReason.INSUFFICIENT_POINTS,
    )
    fingerprint = "0123456789abcdef" * 2
    rows = [
        outcome_row("evt_1", booked, explanation, fingerprint),
        outcome_row("evt_2", rejected),
    ]
    [payload] = notify_payloads(rows)
    notified = read_notification(payload)
    assert [command_id for command_id, _ in notified] == ["evt_1", "evt_2"]
    outcomes = [outcome_from_row(columns) for _, columns in notified if columns is not None]
    assert outcomes == [
        CommandOutcome(
            command_id="evt_1",
            status=OutcomeStatus.BOOKED,
            points=5,
            balance_after=105,
            explanation=explanation,
            recorded_at=RECORDED_AT,
            source_fingerprint=fingerprint,
        ),
        CommandOutcome(
            command_id="evt_2",
            status=OutcomeStatus.REJECTED,
            points=0,
            reason="Not enough points",
            reason_code=RejectionReason.INSUFFICIENT_POINTS,
            balance_after=3,
            recorded_at=RECORDED_AT,
        ),
    ]


def test_an_outcome_too_large_for_a_payload_is_named_by_its_id() -> None:
    large: JsonValue = {"detail": "x" * NOTIFY_PAYLOAD_BYTES}
    booked = Outcome("", OutcomeStatus.BOOKED, 5)
    rows = [outcome_row(f"evt_{i}", booked, large if i == 1 else None) for i in range(60)]
    payloads = notify_payloads(rows)
    notified = [item for payload in payloads for item in read_notification(payload)]
    assert [command_id for command_id, _ in notified] == [f"evt_{i}" for i in range(60)]
    assert [columns is None for _, columns in notified] == [i == 1 for i in range(60)]
    assert len(payloads) > 1
    assert max(len(payload.encode()) for payload in payloads) < 8000


def test_ids_alone_are_read_as_an_older_writer_sends_them() -> None:
    assert read_notification('["evt_1", "evt_2"]') == [("evt_1", None), ("evt_2", None)]


@pytest.mark.parametrize("payload", ['"evt_1"', '{"evt_1": 1}', '["evt_1", 1]', '[{"points": 5}]'])
def test_a_payload_of_anything_else_is_refused(payload: str) -> None:
    with pytest.raises(ValueError, match=r"not a JSON array|neither a command id"):
        read_notification(payload)
