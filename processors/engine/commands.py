"""The ledger command for a decision: what the ledger writer must book for one event."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

import orjson

from processors.engine.compile import CompiledProgramme, CompiledRule
from processors.engine.decision import Decision
from processors.engine.exceptions import InvariantError
from processors.engine.outcomes import Award
from processors.engine.periods import instant
from schemas.events import EventV1
from schemas.ledger import BOOKINGS_MAX, LedgerCommand, TransactionType, Variety

# An enum member's `.value` is a Python property call, twice for every booking.
_CREDIT: Final[str] = TransactionType.CREDIT.value
_DEBIT: Final[str] = TransactionType.DEBIT.value
_PROGRAMME_POINTS: Final[str] = Variety.PROGRAMME_POINTS.value
_REDEMPTION: Final[str] = Variety.REDEMPTION.value


def ledger_command_for(
    event: EventV1,
    decision: Decision,
    source_event: bytes | None = None,
    external_points: Mapping[str, int] | None = None,
    programme: CompiledProgramme | None = None,
) -> LedgerCommand:
    """One booking per award, keyed `event_id:rule_id`; an event without awards still gets a
    command (with no booking) so that its outcome and explanation are stored. The model of
    the bytes the processors send (`ledger_command_json`)."""
    command = ledger_command_json(event, decision, source_event, external_points, programme)
    return LedgerCommand.model_validate_json(command)


def ledger_command_json(
    event: EventV1,
    decision: Decision,
    source_event: bytes | None = None,
    external_points: Mapping[str, int] | None = None,
    programme: CompiledProgramme | None = None,
) -> bytes:
    """The ledger command's JSON, built without pydantic models, which cost the processors more
    than deciding the event. A field at its default (None, False, no bookings, `schema_version`
    1) is left out, as the model's `model_dump_json(exclude_defaults=True)` leaves it out
    (`test_commands` holds the bytes equal): the reader fills it in, so both forms are one
    command and hash alike (docs/decisions/0024-ledger-commands-without-defaults.md).

    `source_event`: the event's record as received (events.v1 JSON), embedded as it is, so the
    ledger archives the event with its decision at the cost of a copy of its bytes; None leaves
    the command without it. `external_points`: the programmatic rules' amounts the decision
    used, archived with the event so that a replay uses them. `programme`: the programme the
    decision used, for its rules' pending terms and its confirming event types (None: every
    award available at once, no confirmation)."""
    if len(decision.awards) > BOOKINGS_MAX:
        raise InvariantError(f"{event.event_id}: {len(decision.awards)} awards in one command")
    original_us = decision.original_occurred_at_us
    occurred_at = event.occurred_at if original_us is None else instant(original_us)
    command: dict[str, Any] = {
        "command_id": event.event_id,
        "programme_id": event.programme_id,
        "user_id": event.user_id,
        "source_event_id": event.event_id,
    }
    if decision.awards:
        command["bookings"] = [
            _booking_json(
                event, award, occurred_at, _pending_json(event, award, occurred_at, programme)
            )
            for award in decision.awards
        ]
    command["explanation"] = decision.explanation.to_dict()
    # The optional parts, in the model's field order, each only when it says something.
    fingerprint = event.payload_fingerprint
    if fingerprint is not None:
        command["source_fingerprint"] = fingerprint
    if source_event is not None:
        command["source_event"] = orjson.Fragment(source_event)
    if external_points:
        command["external_points"] = dict(external_points)
    confirms = _confirms_json(event, programme)
    if confirms is not None:
        command["confirms"] = confirms
    if decision.returning is not None:
        command["returning"] = _returning_json(decision)
    return orjson.dumps(command, option=orjson.OPT_UTC_Z)


ORIGINAL_REFERENCE: Final = "original_reference_id"
"""The metadata field by which a confirming event names the award's event (its reference)."""


def _pending_json(
    event: EventV1, award: Award, occurred_at: datetime, programme: CompiledProgramme | None
) -> dict[str, Any] | None:
    """The award's pending terms, when its rule awards pending points."""
    if programme is None or award.kind != "earn":
        return None
    rule: CompiledRule | None = programme.rules_by_id.get(award.rule_id)
    if rule is None or not rule.pending:
        return None
    release_on = None
    if rule.pending_days:
        earned = occurred_at.astimezone(programme.calendar.zone).date()
        release_on = (earned + timedelta(days=rule.pending_days)).isoformat()
    terms: dict[str, Any] = {}
    if release_on is not None:
        terms["release_on"] = release_on
    if rule.pending_until:
        terms["confirmed_by"] = rule.pending_until
    terms["reference_id"] = event.reference_id or event.event_id
    return terms


def _confirms_json(event: EventV1, programme: CompiledProgramme | None) -> dict[str, Any] | None:
    """A confirming event's request to release the pending awards its metadata names."""
    if programme is None or event.event_type not in programme.confirming_types:
        return None
    reference = event.metadata.get(ORIGINAL_REFERENCE)
    if not isinstance(reference, str) or not 0 < len(reference) <= 256:
        return None
    return {
        "event_type": event.event_type,
        "reference_id": reference,
        "confirmed_at": event.occurred_at,
    }


def _booking_json(
    event: EventV1, award: Award, occurred_at: datetime, pending: dict[str, Any] | None = None
) -> dict[str, Any]:
    earn = award.kind == "earn"
    action = "earned with" if earn else "redeemed through"
    booking: dict[str, Any] = {
        "idempotency_key": f"{event.event_id}:{award.rule_id}",
        "transaction_type": _CREDIT if earn else _DEBIT,
        "variety": _PROGRAMME_POINTS if earn else _REDEMPTION,
        "points": award.points,
        "reason": f"{event.event_type} {action} rule {award.rule_id} v{award.rule_version}"[:250],
        "lineage": {
            "source_event_id": event.event_id,
            "rule_id": award.rule_id,
            "rule_version": award.rule_version,
            "occurred_at": occurred_at,
        },
    }
    if pending is not None:
        booking["pending"] = pending
    return booking


def _returning_json(decision: Decision) -> dict[str, Any]:
    ask = decision.returning
    if ask is None:
        raise InvariantError(f"{decision.event_id}: not a return")
    return {
        "original_event_id": ask.original_event_id,
        "award_keys": list(ask.award_keys),
        "field": ask.field,
        "amount": ask.amount,
    }
