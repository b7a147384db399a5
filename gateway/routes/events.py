"""Partner events (mgPass): publish one and get its points, or look its outcome up later."""

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from gateway.answering import detailed_answer, publish_and_answer
from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.errors import Forbidden, NotFound, Unauthorized, Unavailable
from gateway.keys import Principal
from gateway.metrics import EVENTS_PUBLISHED
from gateway.models import ERRORS, EventAnswer, EventOutcome, PartnerEventRequest
from schemas.events import EventV1, event_id_for
from schemas.programme import Partner

router = APIRouter(prefix="/api/partner", tags=["events"])


@router.post(
    "/events",
    response_model=EventAnswer,
    responses={202: {"model": EventAnswer, "description": "Accepted; outcome pending"}, **ERRORS},
)
async def publish_event(
    body: PartnerEventRequest, caller: PrincipalDep, services: ServicesDep, response: Response
) -> EventAnswer:
    """Publish a user's action. The answer carries the points awarded when the outcome is known
    within the gateway's deadline (200), and otherwise `"status": "pending"` (202)."""
    partner = allowed_partner(services, caller, body.event_type)
    await services.rate_limits.check(
        caller.programme_id, caller.partner_id, partner.rate_limit_per_minute
    )
    event = to_event(body, caller)
    answer = await publish_and_answer(services, event)
    EVENTS_PUBLISHED.labels(event.programme_id).inc()
    if answer.status == "pending":
        response.status_code = 202
    return answer


@router.get("/events/{event_id}", response_model=EventOutcome, responses=ERRORS)
async def event_outcome(event_id: str, caller: PrincipalDep, services: ServicesDep) -> EventOutcome:
    """The outcome of an event published by the caller's programme, with the explanation of the
    decision (every rule tried, and why it paid or not)."""
    outcome = await services.outcomes_for(caller.programme_id, event_id)
    if outcome is None:
        raise NotFound(f"no outcome for event {event_id} (unknown, or not processed yet)")
    return detailed_answer(event_id, outcome)


def allowed_partner(services: ServicesDep, caller: Principal, event_type: str) -> Partner:
    config = services.catalog.config(caller.programme_id)
    if config is None:
        raise Unavailable("the programme's configuration is not loaded yet; retry shortly")
    if config.environment != caller.environment:
        raise Unauthorized(
            f"a {caller.environment} key cannot reach a {config.environment} programme"
        )
    partner = config.partner(caller.partner_id)
    if partner is None or not partner.allows(event_type):
        raise Forbidden(f"event type {event_type!r} is not in your allowed list")
    return partner


def to_event(body: PartnerEventRequest, caller: Principal) -> EventV1:
    reference_id = body.reference_id()
    return EventV1.model_validate(
        {
            "event_id": event_id_for(caller.programme_id, caller.partner_id, reference_id),
            "programme_id": caller.programme_id,
            "partner_id": caller.partner_id,
            "user_id": body.user_id,
            "event_type": body.event_type,
            "occurred_at": body.occurred_at or datetime.now(UTC),
            "reference_id": reference_id,
            "environment": caller.environment,
            "metadata": body.metadata,
        }
    )
