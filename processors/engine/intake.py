"""One record in, one result out: decode, validate, decide. No I/O, so the agent stays three lines
and this step is unit-tested without Kafka (`processors.handling` is its name there).

Compiled with the engine: it runs once for every record, and interpreted its glue (the record's
checks, the lookups, the results) cost about a tenth of the worker's own work per event. The
programmes come through `Catalog` (`processors.catalog.ProgrammeCatalog`), which the engine may
not import."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

from pydantic import ValidationError

from processors.engine.commands import ledger_command_json
from processors.engine.compile import CompiledProgramme
from processors.engine.decide import decide
from processors.engine.decision import Decision
from processors.engine.outcomes import ExternalCall
from processors.engine.state import UserState
from schemas.dead_letters import DeadLetter, SourceRecord
from schemas.event_time import EventTimePolicy, instant
from schemas.events import EventV1
from schemas.ledger import LedgerCommand
from schemas.programme import TIER_REVIEW_EVENT_TYPE, ProgrammeConfig
from schemas.topics import user_key

PRODUCER = "processors"
OCCURRED_AT_GRACE_S: Final = 60
"""Added to both bounds of the event-time policy here. The gateway checks a partner's time
against its clock when the request arrives; the record's timestamp is taken when the gateway's
producer sends it, a little later (up to the produce timeout, 10 s, when the broker is slow).
Without a grace an event the gateway accepted right at its past bound would be dead-lettered."""


class DeadLetterReason(StrEnum):
    """Why the processors sent a record to dead-letters.v1 (`DeadLetter.reason`)."""

    INVALID_EVENT = "invalid_event"
    KEY_MISMATCH = "key_mismatch"
    UNKNOWN_PROGRAMME = "unknown_programme"
    OCCURRED_AT_OUT_OF_BOUNDS = "occurred_at_out_of_bounds"
    INVALID_PREVIEW = "invalid_preview"


Record = SourceRecord


class Catalog(Protocol):
    """The programmes a record may be for: compiled for the engine, and as configured."""

    def get(self, programme_id: str) -> CompiledProgramme | None: ...

    def config(self, programme_id: str) -> ProgrammeConfig | None: ...


@dataclass(slots=True)  # treated as immutable; frozen=True costs 4x per instance (one per event)
class Decided:
    event: EventV1
    decision: Decision
    command_json: bytes
    """The ledger command as sent (`ledger_command_json`: no pydantic models on the hot path)."""

    @property
    def command(self) -> LedgerCommand:
        return LedgerCommand.model_validate_json(self.command_json)

    @property
    def state(self) -> UserState:
        return self.decision.state


@dataclass(frozen=True, slots=True)
class NeedsAmounts:
    """A programmatic rule needs its external amount before the event can be decided."""

    event: EventV1
    calls: tuple[ExternalCall, ...]


Handled = Decided | NeedsAmounts | DeadLetter


def handle(
    record: Record,
    state: UserState | None,
    catalog: Catalog,
    external_points: Mapping[str, int] | None = None,
    *,
    budget_view: Callable[[CompiledProgramme], Mapping[str, int]] | None = None,
) -> Handled:
    """`budget_view(programme)`: points each budgeted rule of the programme has awarded."""
    value = record.value
    try:
        event = EventV1.model_validate_json(b"" if value is None else value)
    except ValidationError as exc:
        return dead_letter(record, DeadLetterReason.INVALID_EVENT, _summary(exc))
    programme_id = event.programme_id
    if record.key != user_key(programme_id, event.user_id):
        return dead_letter(
            record, DeadLetterReason.KEY_MISMATCH, "the key must be programme_id:user_id"
        )
    programme = catalog.get(programme_id)
    config = catalog.config(programme_id)
    if programme is None or config is None:
        return dead_letter(
            record, DeadLetterReason.UNKNOWN_PROGRAMME, f"no configuration for {programme_id}"
        )
    breach = out_of_bounds(record, event, config.event_time)
    if breach is not None:
        return dead_letter(record, DeadLetterReason.OCCURRED_AT_OUT_OF_BOUNDS, breach)
    decision = decide(
        event,
        state or UserState.initial(),
        programme,
        external_points,
        budget_used=None if budget_view is None else budget_view(programme),
    )
    if decision.status == "needs_external_points":
        return NeedsAmounts(event, decision.external_calls)
    # The record's own bytes ride along to the ledger's archive (ledger.decided_events).
    command = ledger_command_json(event, decision, value, external_points, programme)
    return Decided(event, decision, command)


def record_of(message: Any) -> Record:
    """A consumed message (a faust `Message`: topic, partition, offset, key, value and its
    timestamp in float seconds) as the handlers read it."""
    stamp = message.timestamp
    return Record(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        None if stamp is None else int(stamp * 1000),
    )


def out_of_bounds(record: Record, event: EventV1, policy: EventTimePolicy) -> str | None:
    """Why the event's `occurred_at` lies outside the programme's event-time policy around the
    record's Kafka timestamp, or None. The timestamp is stored with the record, so a replay
    decides the same. Imported history and the scheduler's tier reviews are exempt; a record
    without a timestamp (which no producer since Kafka 0.10 sends) cannot be checked and is let
    through."""
    stamp = record.timestamp_ms
    if event.import_id is not None or stamp is None or stamp < 0:
        return None
    # Nearly every event lies well inside the bounds: seen in float seconds, cheaper than the
    # datetimes below, with a second's margin for the floats' rounding; the datetimes decide
    # whatever lies near a bound.
    offset_s = event.occurred_at.timestamp() - stamp / 1000
    future_s, past_s = policy.future_max_s, policy.past_max_s
    if -(past_s + OCCURRED_AT_GRACE_S) + 1 < offset_s < future_s + OCCURRED_AT_GRACE_S - 1:
        return None
    if event.event_type == TIER_REVIEW_EVENT_TYPE:
        # The scheduler's own record, dated the day it reviews: a day it catches up on, or one
        # sent ahead with `--allow-future`, lies outside any partner's bounds by design.
        return None
    reference = datetime.fromtimestamp(stamp / 1000, UTC)
    breach = policy.out_of_bounds(event.occurred_at, reference, OCCURRED_AT_GRACE_S)
    if breach is None:
        return None
    grace = f"{OCCURRED_AT_GRACE_S} s of grace included"
    return f"occurred_at {breach.message(f'the record timestamp {instant(reference)}')} ({grace})"


def dead_letter(record: Record, reason: DeadLetterReason, error: str) -> DeadLetter:
    return DeadLetter.of(record, reason, error, PRODUCER)


def _summary(exc: ValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(problems)[:2000]
