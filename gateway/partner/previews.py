"""Previews ("what will I earn?"): the same body as publishing, answered with the points the event
would earn now for this user (caps, frequency and streak state included) and the explanation.
Nothing is stored or counted; previews have their own rate limit."""

from fastapi import APIRouter, Request

from gateway.bodies import json_body
from gateway.dependencies import services_of
from gateway.errors import ERRORS, Unavailable
from gateway.partner.events import PUBLISH_EVENT_OPENAPI, occurred_at_of, to_event
from gateway.partner.models import PartnerEventRequest, PreviewAnswer
from gateway.publishing.partner_events import programme_partner, require_allowed
from gateway.publishing.previews import PreviewUnavailable

router = APIRouter(prefix="/api/partner", tags=["events"])


@router.post(
    "/events/preview",
    response_model=PreviewAnswer,
    responses=ERRORS,
    openapi_extra=PUBLISH_EVENT_OPENAPI,
)
async def preview_event(request: Request) -> PreviewAnswer:
    """What publishing this event would earn now, with the explanation; nothing is stored or
    counted. Errors as publishing (400, 401, 403, 429 with its own limit, 503 when the
    processors do not answer within the gateway's preview deadline)."""
    services = services_of(request)
    caller = await services.keys.resolve(request.headers.get("x-api-key"))
    body = json_body(PartnerEventRequest, request.headers.get("content-type"), await request.body())
    refusal = f"event type {body.event_type!r} is not in your allowed list"
    partner = programme_partner(services, caller, not_a_partner=refusal)
    require_allowed(partner, body.event_type)
    per_minute = services.settings.preview_rate_limit_per_minute
    services.preview_rate_limits.check(caller.programme_id, caller.partner_id, per_minute)
    event = to_event(body, caller, occurred_at_of(services, caller, body.occurred_at))
    try:
        reply = await services.previewer.preview(event)
    except PreviewUnavailable as exc:
        raise Unavailable(exc.message, exc.retry_after_s) from exc
    return PreviewAnswer(
        event_id=event.event_id,
        status=reply.status or "",
        points=reply.points,
        reason_code=reply.reason_code,
        reason=reply.reason,
        explanation=reply.explanation,
        notes=list(reply.notes),
    )
