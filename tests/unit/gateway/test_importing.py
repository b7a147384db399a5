"""`loyalty-admin import-events` without Kafka or Postgres: which rows become which events, which
are refused and why, and the ids that make a second import book nothing."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gateway.admin.cli import app
from gateway.admin.import_rows import LINE_BYTES_MAX
from gateway.admin.importing import Importer, import_id_of, lines_of
from gateway.admin.programmes import load_file
from schemas.events import EventV1, event_id_for

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "programmes" / "demo.yaml"
NOW = datetime(2026, 12, 4, 18, tzinfo=UTC)
IMPORT_ID = "imp_0123456789abcdef"


@pytest.fixture
def importer() -> Importer:
    demo = load_file(DEMO)
    return Importer({demo.programme_id: demo}, IMPORT_ID, NOW)


def row(**changes: Any) -> dict[str, Any]:
    fields = {
        "programme_id": "demo",
        "user_id": "usr_1",
        "event_type": "purchase",
        "occurred_at": "2024-03-01T10:00:00Z",
        "metadata": {"amount": 12.5},
    }
    return {key: value for key, value in (fields | changes).items() if value is not None}


def line(fields: dict[str, Any]) -> bytes:
    return orjson.dumps(fields) + b"\n"


def imported(importer: Importer, *rows: dict[str, Any] | bytes) -> tuple[list[EventV1], list[str]]:
    refusals: list[str] = []
    lines = ((n, r if isinstance(r, bytes) else line(r)) for n, r in enumerate(rows, 1))
    records = list(importer.records(lines, report=refusals.append))
    return [EventV1.model_validate_json(value) for _, value in records], refusals


def test_a_valid_row_becomes_an_imported_event_keyed_by_its_user(importer: Importer) -> None:
    events, refusals = imported(importer, row(partner_id="mgpass-demo", reference_id="o1"))
    assert refusals == []
    (event,) = events
    assert event.import_id == IMPORT_ID
    assert event.occurred_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert (event.programme_id, event.user_id, event.partner_id) == ("demo", "usr_1", "mgpass-demo")
    assert event.metadata == {"amount": 12.5}
    lines = iter([(1, line(row()))])
    ((key, _),) = list(importer.records(lines, report=print))
    assert key == b"demo:usr_1"


def test_a_referenced_row_gets_the_id_the_partners_live_publish_got(importer: Importer) -> None:
    (event,), _ = imported(importer, row(partner_id="mgpass-demo", reference_id="order_789"))
    assert event.event_id == event_id_for("demo", "mgpass-demo", "order_789")


def test_ids_are_the_same_in_every_run_and_distinct_between_rows(importer: Importer) -> None:
    rows = [
        row(),
        row(occurred_at="2024-03-01T12:00:00+02:00"),  # the same instant, written another way
        row(user_id="usr_2"),
        row(reference_id="r1"),
        row(reference_id="r1", partner_id="mgpass-demo"),
    ]
    first, _ = imported(importer, *rows)
    again, _ = imported(importer, *rows)
    ids = [event.event_id for event in first]
    assert ids == [event.event_id for event in again]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 4


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json\n", "row: Invalid JSON"),
        (b"[1, 2]\n", "row: Input should be an object"),
        (line(row(occurred_at="2024-03-01T10:00:00")), "occurred_at: Input should have timezone"),
        (line(row(occurred_at=1709287200)), "occurred_at: Value error, must be an RFC 3339"),
        (line(row(user_id=None)), "user_id: Field required"),
        (line(row(points=5)), "points: Extra inputs are not permitted"),
        (line(row(programme_id="nope")), "programme_id: no programme 'nope' is stored"),
        (line(row(event_type="dance")), "event_type: 'dance' is not an event type of programme"),
        (line(row(partner_id="stranger")), "partner_id: 'stranger' is not a partner of 'demo'"),
        (line(row(metadata={})), "metadata: mandatory parameter 'amount' is missing"),
        (
            line(row(occurred_at="2026-12-05T18:00:00Z")),
            "occurred_at: 2026-12-05T18:00:00Z is more than 5 minutes (300 s) after now",
        ),
    ],
)
def test_a_bad_row_is_refused_with_its_line_number_and_reason(
    importer: Importer, bad: bytes, reason: str
) -> None:
    events, refusals = imported(importer, row(), bad, row(user_id="usr_2"))
    assert [event.user_id for event in events] == ["usr_1", "usr_2"]
    (refusal,) = refusals
    assert refusal.startswith(f"line 2: {reason}"), refusal
    assert importer.refused == 1


def test_an_old_date_is_history_not_a_refusal(importer: Importer) -> None:
    events, refusals = imported(importer, row(occurred_at="2019-06-01T00:00:00Z"))
    assert refusals == []
    assert len(events) == 1


def test_lines_are_numbered_blank_ones_skipped_and_an_overlong_one_cut_short(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n' + b"x" * (LINE_BYTES_MAX + 5) + b"\n" + b'{"b": 2}')
    found: Iterator[tuple[int, bytes | None]] = lines_of(path)
    assert list(found) == [(1, b'{"a": 1}\n'), (4, None), (5, b'{"b": 2}')]


def test_the_import_id_is_the_files_digest(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"same\n")
    second.write_bytes(b"same\n")
    assert import_id_of(first) == import_id_of(second)
    assert re.fullmatch("imp_[0-9a-f]{16}", import_id_of(first))
    second.write_bytes(b"other\n")
    assert import_id_of(first) != import_id_of(second)


def test_the_admin_cli_offers_import_events_with_an_example() -> None:
    result = CliRunner().invoke(app, ["import-events", "--help"])
    assert result.exit_code == 0
    assert "loyalty-admin import-events history.jsonl --dry-run" in result.output
    assert "events.v1" in result.output
