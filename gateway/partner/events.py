"""Partner events (mgPass): publish one and get its points, or look its outcome up later."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError

from gateway import openapi
from gateway.bodies import json_body, problem
from gateway.dependencies import PrincipalDep, Services, ServicesDep, services_of
from gateway.errors import ERRORS, Unavailable
from gateway.keys import Principal
from gateway.partner import reading
from gateway.partner.models import PartnerEventRequest
from gateway.publishing.answers import EventAnswer, EventOutcome
from gateway.publishing.partner_events import programme_partner, publish_partner_event
from schemas.events import EventV1, event_id_for

router = APIRouter(prefix="/api/partner", tags=["events"])

# POST /events, the hot path, is served past FastAPI's router (gateway.direct_routes) and reads
# its header and body itself, so its OpenAPI entry says here what FastAPI would have derived from
# a signature; gateway.openapi publishes the body's schema.
PUBLISH_EVENT_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "x-api-key",
            "in": "header",
            "required": False,
            "description": "The partner's API key.",
            "schema": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "The partner's API key.",
                "title": "X-Api-Key",
            },
        }
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": openapi.component(PartnerEventRequest)}},
    },
}


@router.post(
    "/events",
    response_model=EventAnswer,
    responses={202: {"model": EventAnswer, "description": "Accepted; outcome pending"}, **ERRORS},
    openapi_extra=PUBLISH_EVENT_OPENAPI,
)
async def publish_event(request: Request) -> Response:
    """Publish a user's action. The answer carries the points awarded when the outcome is known
    within the gateway's deadline (200), and otherwise `"status": "pending"` (202)."""
    services = services_of(request)
    caller = await services.keys.resolve(request.headers.get("x-api-key"))
    body = json_body(PartnerEventRequest, request.headers.get("content-type"), await request.body())
    refusal = f"event type {body.event_type!r} is not in your allowed list"
    partner = programme_partner(services, caller, not_a_partner=refusal)
    occurred_at = occurred_at_of(services, caller, body.occurred_at)
    answer, status = await publish_partner_event(
        services,
        caller,
        partner,
        body.event_type,
        lambda: to_event(body, caller, occurred_at),
        occurred_at_given=body.occurred_at is not None,
    )
    return Response(answer.model_dump_json(), status, media_type="application/json")


@router.get("/events/{event_id}", response_model=EventOutcome, responses=ERRORS)
async def event_outcome(event_id: str, caller: PrincipalDep, services: ServicesDep) -> EventOutcome:
    """The outcome of an event published by the caller's programme, with the explanation of the
    decision (every rule tried, and why it paid or not)."""
    return await reading.event_outcome(services.stored, caller.programme_id, event_id)


def occurred_at_of(services: Services, caller: Principal, given: datetime | None) -> datetime:
    """When the user acted: the gateway's clock when the partner says nothing, else the
    partner's time once the programme's event-time policy accepts it against that clock (400
    `invalid_request` naming the bound and the range accepted, if not)."""
    now = datetime.now(UTC)
    if given is None:
        return now
    config = services.catalog.config(caller.programme_id)
    if config is None:
        raise Unavailable("the programme's configuration is not loaded yet; retry shortly")
    breach = config.event_time.out_of_bounds(given, now)
    if breach is not None:
        message = breach.message("now")
        raise RequestValidationError([problem(message, "occurred_at_out_of_bounds", "occurred_at")])
    return given


def to_event(body: PartnerEventRequest, caller: Principal, occurred_at: datetime) -> EventV1:
    reference_id = body.reference_id()
    return EventV1.model_validate(
        {
            "event_id": event_id_for(caller.programme_id, caller.partner_id, reference_id),
            "programme_id": caller.programme_id,
            "partner_id": caller.partner_id,
            "user_id": body.user_id,
            "event_type": body.event_type,
            "occurred_at": occurred_at,
            "reference_id": reference_id,
            "environment": caller.environment,
            "metadata": body.metadata,
        }
    )
