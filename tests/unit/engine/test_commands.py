"""ledger_command_for: one booking per award, deterministic keys, JSON-able explanation."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from pydantic import ValidationError

from bench import engine as bench
from processors.engine import (
    UserState,
    compile_programme,
    decide,
    ledger_command_for,
    ledger_command_json,
)
from schemas.ledger import LedgerCommand, TransactionType, Variety
from tests.unit.engine.fixtures import event, programme, rule

VIDEO = {"name": "video"}


def _compact(command: LedgerCommand) -> bytes:
    """The wire form the processors send: the model's JSON without the fields at their default."""
    return command.model_dump_json(exclude_defaults=True).encode()


def test_award_becomes_a_credit_with_lineage() -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True, version=3)])
    video = event("video")
    command = ledger_command_for(video, decide(video, UserState.initial(), compiled))
    assert command.command_id == video.event_id
    (booking,) = command.bookings
    assert booking.idempotency_key == f"{video.event_id}:r"
    assert (booking.transaction_type, booking.variety, booking.points) == (
        TransactionType.CREDIT,
        Variety.PROGRAMME_POINTS,
        10,
    )
    assert "rule r v3" in booking.reason
    assert (booking.lineage.rule_id, booking.lineage.rule_version) == ("r", 3)
    assert booking.lineage.occurred_at == video.occurred_at
    orjson.dumps(command.explanation)  # JSON-able


def test_redemption_becomes_a_debit() -> None:
    compiled = programme(
        [VIDEO],
        [rule("v", "video", kind="redeem", trigger="api", authorised_clients=["c"], points=70)],
        api_clients=[{"client_id": "c"}],
    )
    video = event("video", rule_id="v", client_id="c")
    (booking,) = ledger_command_for(video, decide(video, UserState.initial(), compiled)).bookings
    assert (booking.transaction_type, booking.variety, booking.points) == (
        TransactionType.DEBIT,
        Variety.REDEMPTION,
        70,
    )


def test_no_award_still_gets_a_command_and_a_duplicate_the_same_one() -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True, frequency="once")])
    first, second = event("video"), event("video")
    state = decide(first, UserState.initial(), compiled).state
    decision = decide(second, state, compiled)
    command = ledger_command_for(second, decision)
    assert command.bookings == []
    assert command.explanation["status"] == "no_points"  # type: ignore[index,call-overload]
    again = decide(second, decision.state, compiled)
    repeated = ledger_command_for(second, again)
    assert repeated.model_dump(exclude={"explanation"}) == command.model_dump(
        exclude={"explanation"}
    )
    assert repeated.explanation["status"] == "duplicate"  # type: ignore[index,call-overload]


def test_a_duplicate_books_exactly_what_the_original_booked() -> None:
    """The ledger compares bookings (not explanations) under the same idempotency keys: a
    redelivered event must produce byte-identical bookings, from the live state and from one
    that went through bytes, for earn, redemption and streak awards alike."""
    compiled = programme(
        [VIDEO],
        [
            rule("earn", "video", default=True, version=4, points=15),
            rule("streak", "video", version=2, points=300,
                 streak={"type": "before", "events": 1, "before": "2030-01-01T00:00:00Z"}),
            rule("redeem", "video", kind="redeem", trigger="api", authorised_clients=["c"],
                 points=70, version=7),
        ],
        api_clients=[{"client_id": "c"}],
    )  # fmt: skip
    video, redemption = event("video"), event("video", rule_id="redeem", client_id="c")
    state = UserState.initial()
    for item in (video, redemption):
        first = decide(item, state, compiled)
        assert first.status == "awarded"
        state = first.state
        original = ledger_command_for(item, first)
        for stored in (state, UserState.from_bytes(state.to_bytes())):
            again = decide(item, stored, compiled)
            assert (again.status, again.points, again.awards) == (
                "duplicate",
                first.points,
                first.awards,
            )
            repeated = ledger_command_for(item, again)
            assert repeated.bookings == original.bookings
            assert [b.model_dump_json() for b in repeated.bookings] == [
                b.model_dump_json() for b in original.bookings
            ]
            assert repeated.model_dump(exclude={"explanation"}) == original.model_dump(
                exclude={"explanation"}
            )
    assert [
        len(ledger_command_for(i, decide(i, state, compiled)).bookings) for i in (video, redemption)
    ] == [2, 1]


def test_a_retry_stamped_later_books_exactly_the_original_command() -> None:
    """Racing retries of one reference without `occurred_at` are stamped apart by the gateway:
    the duplicate must still carry the original's time, or the ledger sees another payload
    under the same idempotency key (a false conflict and a dead letter)."""
    compiled = programme([VIDEO], [rule("r", "video", default=True, version=2)])
    original = event("video", event_id="evt_retry", at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    retry = event("video", event_id="evt_retry", at=original.occurred_at + timedelta(seconds=3))
    first = decide(original, UserState.initial(), compiled)
    expected = ledger_command_for(original, first).model_dump(exclude={"explanation"})
    for state in (first.state, UserState.from_bytes(first.state.to_bytes())):
        again = decide(retry, state, compiled)
        assert again.status == "duplicate"
        command = ledger_command_for(retry, again)
        assert command.model_dump(exclude={"explanation"}) == expected
        assert command.bookings[0].lineage.occurred_at == original.occurred_at


def test_a_record_stored_before_times_were_kept_still_reads_with_the_events_time() -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True)])
    legacy = UserState.from_bytes(b'[2, null, {}, {}, {}, {"evt_old": ["r", 1, 10]}]')
    video = event("video", event_id="evt_old")
    again = decide(video, legacy, compiled)
    assert (again.status, again.points) == ("duplicate", 10)
    (booking,) = ledger_command_for(video, again).bookings
    assert booking.lineage.occurred_at == video.occurred_at


def test_the_direct_json_is_the_pydantic_commands_json_for_every_kind_of_decision() -> None:
    """The processors send `ledger_command_json`; the contract is the pydantic model. Over the
    benchmark's workload (50 rules of every kind, caps, streaks, redemptions, invalid events)
    the bytes must be the same, and they must validate as a `LedgerCommand`."""
    compiled = compile_programme(bench.programme())
    states: dict[str, UserState] = {}
    kinds: set[str] = set()
    for batch in bench.events(3_000, seed=11):
        for item in batch:
            decision = decide(item, states.get(item.user_id, UserState.initial()), compiled)
            states[item.user_id] = decision.state
            direct = ledger_command_json(item, decision)
            assert direct == _compact(ledger_command_for(item, decision))
            LedgerCommand.model_validate_json(direct)
            kinds.add(decision.status)
            dup = decide(item, decision.state, compiled)
            kinds.add(dup.status)
            assert ledger_command_json(item, dup) == _compact(ledger_command_for(item, dup))
            unknown = item.model_copy(
                update={"event_type": "unknown", "event_id": "x" + item.event_id}
            )
            refused = decide(unknown, decision.state, compiled)
            kinds.add(refused.status)
            assert ledger_command_json(unknown, refused) == _compact(
                ledger_command_for(unknown, refused)
            )
    assert {"awarded", "invalid_event", "duplicate"} <= kinds, kinds


def test_the_source_event_rides_along_as_received_with_the_external_amounts() -> None:
    """The ledger archives the event with its decision: the record's bytes go into the command
    unchanged (no re-encoding on the hot path), and the model reads them back as the event."""
    compiled = compile_programme(bench.programme())
    for batch in bench.events(200, seed=3):
        for item in batch:
            decision = decide(item, UserState.initial(), compiled)
            received = item.model_dump_json().encode()
            direct = ledger_command_json(item, decision, received, {"r": 7})
            assert received in direct
            command = ledger_command_for(item, decision, received, {"r": 7})
            # The event goes as it came (its own nulls too); the rest as the model's short form.
            expected = orjson.loads(_compact(command)) | {"source_event": orjson.loads(received)}
            assert orjson.loads(direct) == expected
            assert (command.source_event, command.external_points) == (item, {"r": 7})
            without = ledger_command_for(item, decision)
            assert (without.source_event, without.external_points) == (None, None)


def test_a_source_event_of_another_user_is_refused_by_the_contract() -> None:
    compiled = programme([VIDEO], [rule("r", "video", default=True)])
    video = event("video")
    other = video.model_copy(update={"user_id": "someone-else"})
    command = ledger_command_json(video, decide(video, UserState.initial(), compiled))
    body = orjson.loads(command) | {"source_event": other.model_dump(mode="json")}
    with pytest.raises(ValidationError, match="another user's"):
        LedgerCommand.model_validate(body)
    renamed = video.model_copy(update={"event_id": "evt_other"})
    body |= {"source_event": renamed.model_dump(mode="json")}
    with pytest.raises(ValidationError, match="source_event_id"):
        LedgerCommand.model_validate(body)


def _defaults_in(value: object) -> list[object]:
    """Every null, false or empty list in a JSON value."""
    if isinstance(value, dict):
        return [found for item in value.values() for found in _defaults_in(item)]
    if isinstance(value, list):
        return [found for item in value for found in _defaults_in(item)] if value else [value]
    return [value] if value is None or value is False else []


def test_the_command_leaves_out_only_what_the_model_fills_in_again() -> None:
    """No null, false or empty field on the wire (decision 0024), and the reader's model of the
    short form is the model of the long form that earlier processors sent."""
    compiled = compile_programme(bench.programme())
    for batch in bench.events(300, seed=5):
        for item in batch:
            decision = decide(item, UserState.initial(), compiled)
            direct = ledger_command_json(item, decision, item.model_dump_json().encode())
            body = orjson.loads(direct)
            del body["explanation"], body["source_event"]  # their own contracts, sent whole
            assert not _defaults_in(body), direct
            short = LedgerCommand.model_validate_json(direct)
            # The long form as earlier processors sent it: the model built on its own, every
            # field written out.
            built = ledger_command_for(item, decision, item.model_dump_json().encode())
            long = built.model_dump_json()
            assert short == LedgerCommand.model_validate_json(long)
            assert len(direct) < len(long)
