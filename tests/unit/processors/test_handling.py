"""The processor's per-record step, without Kafka: what becomes a command, what a dead letter."""

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from gateway.admin.programmes import load_file, snapshot_bytes
from processors.catalog import ProgrammeCatalog
from processors.engine import ledger_command_for
from processors.handling import OCCURRED_AT_GRACE_S, Decided, Record, handle
from processors.metrics import BatchTally, rejection_reasons
from schemas import topics
from schemas.dead_letters import DeadLetter
from schemas.event_time import instant
from schemas.events import EventV1
from schemas.ledger import LedgerCommand

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "programmes" / "demo.yaml"


@pytest.fixture
def catalog() -> ProgrammeCatalog:
    catalog = ProgrammeCatalog()
    assert catalog.apply(snapshot_bytes(load_file(DEMO))) is not None
    return catalog


def event(**changes: object) -> EventV1:
    fields: dict[str, object] = {
        "event_id": "evt_1",
        "programme_id": "demo",
        "partner_id": "mgpass-demo",
        "user_id": "usr_abc123",
        "event_type": "purchase",
        "occurred_at": datetime(2026, 11, 22, 10, tzinfo=UTC),
        "metadata": {"reference_id": "order_789", "amount": 150.0},
    }
    return EventV1.model_validate(fields | changes)


def record(value: bytes, key: bytes | None = b"demo:usr_abc123", offset: int = 7) -> Record:
    return Record(topic=topics.EVENTS, partition=1, offset=offset, key=key, value=value)


def outcomes(decided: Decided) -> list[str]:
    return [trace.outcome for trace in decided.decision.explanation.rules]


def encoded(item: EventV1) -> bytes:
    return orjson.dumps(item.model_dump(mode="json"))


def test_a_valid_event_becomes_a_ledger_command(catalog: ProgrammeCatalog) -> None:
    handled = handle(record(encoded(event())), None, catalog)
    assert isinstance(handled, Decided)
    assert handled.decision.points == 150
    assert handled.command.command_id == "evt_1"
    assert [booking.points for booking in handled.command.bookings] == [150]


def test_a_redelivered_event_gives_the_same_command_and_state(catalog: ProgrammeCatalog) -> None:
    first = handle(record(encoded(event())), None, catalog)
    assert isinstance(first, Decided)
    again = handle(record(encoded(event())), first.state, catalog)
    assert isinstance(again, Decided)
    assert again.command.bookings == first.command.bookings
    assert again.state.to_bytes() == first.state.to_bytes()


@pytest.mark.parametrize(
    ("value", "key", "reason"),
    [
        (b"{not json", b"demo:usr_abc123", "invalid_event"),
        (b'{"event_id": "evt_2"}', b"demo:usr_abc123", "invalid_event"),
        (encoded(event()), b"demo:someone_else", "key_mismatch"),
        (encoded(event(programme_id="nope")), b"nope:usr_abc123", "unknown_programme"),
    ],
)
def test_what_cannot_be_decided_is_a_dead_letter_with_the_original_bytes(
    catalog: ProgrammeCatalog, value: bytes, key: bytes, reason: str
) -> None:
    handled = handle(record(value, key), None, catalog)
    assert isinstance(handled, DeadLetter)
    assert handled.reason == reason
    assert (handled.source_topic, handled.source_partition, handled.source_offset) == (
        topics.EVENTS,
        1,
        7,
    )
    assert base64.b64decode(str(handled.original_value_base64)) == value


def test_an_older_snapshot_never_replaces_a_newer_one(catalog: ProgrammeCatalog) -> None:
    config = load_file(DEMO)
    newer = config.model_copy(update={"version": config.version + 1})
    assert catalog.apply(snapshot_bytes(newer)) is not None
    assert catalog.apply(snapshot_bytes(config)) is None
    assert catalog.version("demo") == config.version + 1


def test_rejections_are_counted_by_the_reason_the_explanation_gives(
    catalog: ProgrammeCatalog,
) -> None:
    signup = event(event_type="signup", metadata={})
    first = handle(record(encoded(signup)), None, catalog)
    assert isinstance(first, Decided)
    again = handle(
        record(encoded(signup.model_copy(update={"event_id": "evt_2"}))), first.state, catalog
    )
    assert isinstance(again, Decided)
    reasons = list(rejection_reasons(again.decision.status, outcomes(again)))
    assert reasons == ["frequency_limited"]
    invalid = handle(record(encoded(event(metadata={}))), None, catalog)
    assert isinstance(invalid, Decided)
    assert list(rejection_reasons(invalid.decision.status, outcomes(invalid))) == ["invalid"]


def test_the_command_carries_the_record_as_received_for_the_archive(
    catalog: ProgrammeCatalog,
) -> None:
    received = encoded(event())
    handled = handle(record(received), None, catalog)
    assert isinstance(handled, Decided)
    assert received in handled.command_json
    command = LedgerCommand.model_validate_json(handled.command_json)
    assert command.source_event == handled.event
    assert command.model_dump(exclude={"source_event"}) == ledger_command_for(
        handled.event, handled.decision
    ).model_dump(exclude={"source_event"})


def stamped(item: EventV1, at: datetime) -> Record:
    """The event's record as Kafka stored it at `at` (its producer's CreateTime)."""
    return Record(
        topic=topics.EVENTS,
        partition=1,
        offset=7,
        key=b"demo:usr_abc123",
        value=encoded(item),
        timestamp_ms=int(at.timestamp() * 1000),
    )


STORED = datetime(2026, 11, 22, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("occurred_at", "bound", "text"),
    [
        (datetime(2020, 1, 1, tzinfo=UTC), "past_max_s", "is more than 7 days (604800 s) before"),
        (STORED + timedelta(hours=1), "future_max_s", "is more than 5 minutes (300 s) after"),
    ],
)
def test_an_event_dated_outside_the_time_policy_is_a_dead_letter_naming_the_bound(
    catalog: ProgrammeCatalog, occurred_at: datetime, bound: str, text: str
) -> None:
    handled = handle(stamped(event(occurred_at=occurred_at), STORED), None, catalog)
    assert isinstance(handled, DeadLetter)
    assert handled.reason == "occurred_at_out_of_bounds"
    assert handled.error.startswith(f"occurred_at {instant(occurred_at)} {text}")
    assert f"the record timestamp 2026-11-22T10:00:00Z (the programme's event_time.{bound})" in (
        handled.error
    )
    assert "accepts events dated from 2026-11-15T09:59:00Z to 2026-11-22T10:06:00Z" in (
        handled.error
    )
    assert handled.source_timestamp == STORED


@pytest.mark.parametrize(
    "occurred_at",
    [
        STORED - timedelta(days=7),
        STORED - timedelta(days=7, seconds=OCCURRED_AT_GRACE_S),  # the gateway's bound, sent late
        STORED + timedelta(minutes=5, seconds=OCCURRED_AT_GRACE_S),
    ],
)
def test_an_event_within_the_policy_and_its_grace_is_decided(
    catalog: ProgrammeCatalog, occurred_at: datetime
) -> None:
    handled = handle(stamped(event(occurred_at=occurred_at), STORED), None, catalog)
    assert isinstance(handled, Decided)
    assert handled.decision.points == 150


def test_imported_history_is_exempt_from_the_time_policy(catalog: ProgrammeCatalog) -> None:
    old = event(occurred_at=datetime(2020, 1, 1, tzinfo=UTC), import_id="imp_0123456789abcdef")
    handled = handle(stamped(old, STORED), None, catalog)
    assert isinstance(handled, Decided)
    assert handled.decision.points == 150


def test_a_replay_decides_the_time_policy_as_the_first_time_did(
    catalog: ProgrammeCatalog,
) -> None:
    """The reference is the record's stored timestamp, never the clock: the same record,
    handled again years later, is decided the same."""
    recent = stamped(event(occurred_at=STORED - timedelta(days=1)), STORED)
    stale = stamped(event(occurred_at=STORED - timedelta(days=8)), STORED)
    for _ in range(2):
        assert isinstance(handle(recent, None, catalog), Decided)
        assert isinstance(handle(stale, None, catalog), DeadLetter)


def test_a_batch_tally_counts_refusals_and_events_with_no_rule() -> None:
    tally = BatchTally()
    tally.decided("p", "awarded", ["awarded", "condition_failed"])
    tally.decided("p", "awarded", ["awarded", "frequency_limited"])
    tally.decided("p", "no_points", [])
    tally.decided("p", "invalid_event", [])
    assert tally.events == {("p", "awarded"): 2, ("p", "no_points"): 1, ("p", "invalid_event"): 1}
    assert tally.rejections == {
        ("p", "frequency_limited"): 1,
        ("p", "no_rule"): 1,
        ("p", "invalid"): 1,
    }
