"""Publishing an event (or a ledger command) and answering with its outcome, or with `pending`
past the deadline."""

import asyncio
import contextlib

from gateway.dependencies import Services
from gateway.metrics import OUTCOME_WAIT, PENDING_ANSWERS
from gateway.models import EventAnswer, EventOutcome
from ledger import queries
from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand, OutcomeStatus


async def publish_and_answer(services: Services, event: EventV1) -> EventAnswer:
    deadline_s = services.settings.outcome_wait_ms / 1000
    with OUTCOME_WAIT.time():
        async with services.outcomes.expect(event.event_id) as committed:
            # Waiting is registered before this look-up, so an outcome committed by a racing
            # request with the same reference is either found here or notified below.
            if event.reference_id is not None:
                known = await queries.get_outcome(services.pool, event.event_id)
                if known is not None:
                    return outcome_answer(event.event_id, known)
            await services.publisher.publish(event)
            if deadline_s > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline_s):
                        await committed
    # Past the deadline the timeout has cancelled the future.
    notified = committed.done() and not committed.cancelled()
    outcome = committed.result() if notified else None
    if outcome is not None:
        return outcome_answer(event.event_id, outcome)
    # Listening, an outcome committed before the deadline has been notified: without a
    # notification there is nothing to look up (the 202 path's one database round trip less).
    if not notified and services.outcomes.listening:
        return pending_answer(event.event_id)
    outcome = await queries.get_outcome(services.pool, event.event_id)
    if outcome is None:
        return pending_answer(event.event_id)
    return outcome_answer(event.event_id, outcome)


async def book_command(
    services: Services, command: LedgerCommand, retry: str, *, look_first: bool = False
) -> CommandOutcome | None:
    """Publishes a ledger command the gateway builds itself (no rule decides it) and returns
    its outcome once the ledger commits it within the outcome wait, else None (pending).
    `look_first`: the command id may have been used before; its stored outcome answers then.
    `retry`: what the client is told if the command could not be stored."""
    deadline_s = services.settings.outcome_wait_ms / 1000
    command_id, programme_id = command.command_id, command.programme_id
    async with services.outcomes.expect(command_id) as committed:
        # Registered before this look-up: a racing twin's outcome is found here or notified.
        if look_first:
            known = await queries.get_outcome(services.pool, command_id, programme_id=programme_id)
            if known is not None:
                return known
        await services.publisher.publish_command(command, retry)
        if deadline_s > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline_s):
                    await committed
    if committed.done() and not committed.cancelled() and committed.result() is not None:
        return committed.result()
    return await queries.get_outcome(services.pool, command_id, programme_id=programme_id)


def pending_answer(event_id: str) -> EventAnswer:
    PENDING_ANSWERS.inc()
    return EventAnswer(event_id=event_id, status="pending")


def outcome_answer(event_id: str, outcome: CommandOutcome) -> EventAnswer:
    rejected = outcome.status is OutcomeStatus.REJECTED
    return EventAnswer(
        event_id=event_id,
        status="rejected" if rejected else "processed",
        points_awarded=0 if rejected else outcome.points,
        reason_code=None if outcome.reason_code is None else outcome.reason_code.value,
        reason=outcome.reason,
    )


def detailed_answer(event_id: str, outcome: CommandOutcome) -> EventOutcome:
    answer = outcome_answer(event_id, outcome)
    return EventOutcome(
        **answer.model_dump(), balance_after=outcome.balance_after, explanation=outcome.explanation
    )
