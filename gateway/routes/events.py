"""`POST /api/partner/events`: accept a partner's event and write it to Kafka."""

from datetime import UTC, datetime

from fastapi import APIRouter

from gateway.dependencies import PrincipalDep, ServicesDep
from gateway.metrics import EVENTS_PUBLISHED
from gateway.models import EventAccepted, PartnerEventRequest
from schemas.events import EventV1, event_id_for

router = APIRouter(prefix="/api/partner", tags=["events"])


@router.post("/events", status_code=202, response_model=EventAccepted)
async def publish_event(
    body: PartnerEventRequest, caller: PrincipalDep, services: ServicesDep
) -> EventAccepted:
    event = to_event(body, caller.programme_id, caller.partner_id, caller.environment)
    await services.publisher.publish(event)
    EVENTS_PUBLISHED.labels(event.programme_id).inc()
    return EventAccepted(event_id=event.event_id)


def to_event(
    body: PartnerEventRequest, programme_id: str, partner_id: str, environment: str
) -> EventV1:
    reference_id = body.reference_id()
    return EventV1.model_validate(
        {
            "event_id": event_id_for(programme_id, partner_id, reference_id),
            "programme_id": programme_id,
            "partner_id": partner_id,
            "user_id": body.user_id,
            "event_type": body.event_type,
            "occurred_at": body.occurred_at or datetime.now(UTC),
            "reference_id": reference_id,
            "environment": environment,
            "metadata": body.metadata,
        }
    )
