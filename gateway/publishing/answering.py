"""Publishing an event (or a ledger command) and answering with its outcome, or with `pending`
past the deadline."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from gateway.dependencies import Services
from gateway.errors import IdempotencyConflict
from gateway.metrics import IDEMPOTENCY_CONFLICTS, OUTCOME_WAIT, PENDING_ANSWERS
from gateway.publishing.answers import EventAnswer, EventOutcome
from schemas.events import EventV1, payload_fingerprint
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus


async def publish_and_answer(
    services: Services, event: EventV1, *, occurred_at_given: bool = False
) -> EventAnswer:
    """Publishes the event and answers with its outcome, or pending past the deadline. With a
    reference the event id is deterministic: the event may have been decided already (a retry,
    or a racing twin), and an outcome decided for another payload under the same reference is
    refused with 409 (`IdempotencyConflict`). `occurred_at_given`: the producer dated the event
    (its time is then part of the payload; a time the gateway stamped is not)."""
    reference = event.reference_id
    if reference is not None and event.payload_fingerprint is None:
        fingerprint = payload_fingerprint(event, occurred_at_given=occurred_at_given)
        event = event.model_copy(update={"payload_fingerprint": fingerprint})
    outcome = await _published_outcome(
        services,
        event.event_id,
        None,
        lambda: services.publisher.publish(event),
        look_first=reference is not None,
    )
    if outcome is None:
        return pending_answer(event.event_id)
    if reference is not None and _another_payload(event, outcome):
        IDEMPOTENCY_CONFLICTS.inc()
        raise IdempotencyConflict(reference, event.event_id)
    return outcome_answer(event.event_id, outcome)


def _another_payload(event: EventV1, outcome: CommandOutcome) -> bool:
    """The outcome was decided for another payload than this event's. Unknown (False) when
    either has no fingerprint: an outcome stored before fingerprints, or a direct producer's."""
    stored = outcome.source_fingerprint
    return stored is not None and stored != event.payload_fingerprint


async def book_command(
    services: Services, command: LedgerCommand, retry: str, *, look_first: bool = False
) -> CommandOutcome | None:
    """Publishes a ledger command the gateway builds itself (no rule decides it) and returns
    its outcome once the ledger commits it within the outcome wait, else None (pending).
    `look_first`: the command id may have been used before; its stored outcome answers then.
    `retry`: what the client is told if the command could not be stored."""
    return await _published_outcome(
        services,
        command.command_id,
        command.programme_id,
        lambda: services.publisher.publish_command(command, retry),
        look_first=look_first,
    )


async def _published_outcome(
    services: Services,
    command_id: str,
    programme_id: str | None,
    publish: Callable[[], Awaitable[None]],
    *,
    look_first: bool,
) -> CommandOutcome | None:
    """Publishes, then waits up to the outcome deadline for the ledger's outcome of
    `command_id`; None when it is not known by then."""
    deadline_s = services.settings.outcome_wait_ms / 1000
    with OUTCOME_WAIT.time():
        async with services.outcomes.expect(command_id) as committed:
            # Waiting is registered before this look-up, so an outcome committed by a racing
            # request with the same id is either found here or notified below.
            if look_first:
                known = await services.stored.get(command_id, programme_id)
                if known is not None:
                    return known
            await publish()
            if deadline_s > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline_s):
                        await committed
    # Past the deadline the timeout has cancelled the future.
    notified = committed.done() and not committed.cancelled()
    outcome = committed.result() if notified else None
    if outcome is not None:
        return outcome
    # Listening, an outcome committed before the deadline has been notified: without a
    # notification there is nothing to look up (the 202 path's one database round trip less).
    if not notified and services.outcomes.listening:
        return None
    return await services.stored.get(command_id, programme_id)


def pending_answer(event_id: str) -> EventAnswer:
    PENDING_ANSWERS.inc()
    return EventAnswer(event_id=event_id, status="pending")


def outcome_answer(event_id: str, outcome: CommandOutcome) -> EventAnswer:
    """A rejection's reason is the ledger's; otherwise the decision's explanation says why the
    event earned nothing, or less than its rules' amount (None for a full award)."""
    if outcome.status is OutcomeStatus.REJECTED:
        code = None if outcome.reason_code is None else outcome.reason_code.value
        return EventAnswer(
            event_id=event_id,
            status="rejected",
            points_awarded=0,
            reason_code=code,
            reason=outcome.reason,
        )
    explained = outcome.explanation if isinstance(outcome.explanation, dict) else {}
    return EventAnswer(
        event_id=event_id,
        status="processed",
        points_awarded=outcome.points,
        reason_code=explained.get("reason_code"),
        reason=outcome.reason or explained.get("reason"),
    )


def detailed_answer(event_id: str, outcome: CommandOutcome) -> EventOutcome:
    answer = outcome_answer(event_id, outcome)
    return EventOutcome(
        **answer.model_dump(), balance_after=outcome.balance_after, explanation=outcome.explanation
    )
