"""API-triggered rules (seed 001): an authorised client earns or redeems points for a user by
triggering a rule by its id, inside the rule's validity window while it is active."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.dependencies import Services, ServicesDep
from gateway.errors import ERRORS, Conflict, Forbidden, NotFound, Rejected, Unavailable
from gateway.publishing.answering import publish_and_answer
from gateway.publishing.answers import EventAnswer
from gateway.triggers.clients import Client, authenticate
from schemas.events import EventV1, Identifier, event_id_for
from schemas.programme import Rule

router = APIRouter(prefix="/api/rules", tags=["api-triggered rules"], responses=ERRORS)


class TriggerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "usr_abc123", "reference_id": "redeem-0042", "metadata": {}}]
        },
    )

    user_id: Identifier
    reference_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict, max_length=64)


@router.post("/{rule_id}/trigger", response_model=EventAnswer)
async def trigger_rule(
    rule_id: str,
    body: TriggerRequest,
    services: ServicesDep,
    response: Response,
    x_client_id: Annotated[str | None, Header()] = None,
    x_client_secret: Annotated[str | None, Header()] = None,
) -> EventAnswer:
    """Earn or redeem with one rule. A redemption the user's balance cannot cover is refused
    with 402 `insufficient_points` and changes nothing."""
    client = await authenticate(services.pool, x_client_id, x_client_secret)
    answer = await trigger(services, client, rule_id, body, datetime.now(UTC))
    if answer.status == "pending":
        response.status_code = 202
    return answer


async def trigger(
    services: Services, client: Client, rule_id: str, body: TriggerRequest, now: datetime
) -> EventAnswer:
    """The slice's logic, apart from HTTP: the rule checked for the client at `now`, the event
    published and answered through the shared path's ports (a refusal raises `Rejected`)."""
    rule = triggerable_rule(services, client, rule_id, now)
    event = EventV1(
        event_id=event_id_for(client.programme_id, f"client:{client.client_id}", body.reference_id),
        programme_id=client.programme_id,
        user_id=body.user_id,
        event_type=rule.event_type,
        occurred_at=now,
        client_id=client.client_id,
        rule_id=rule.rule_id,
        reference_id=body.reference_id,
        environment=client.environment,
        metadata=body.metadata,
    )
    answer = await publish_and_answer(services, event)
    if answer.status == "rejected":
        raise Rejected.of(answer.reason_code, answer.reason)
    return answer


def triggerable_rule(services: Services, client: Client, rule_id: str, now: datetime) -> Rule:
    config = services.catalog.config(client.programme_id)
    if config is None:
        raise Unavailable("the programme's configuration is not loaded yet; retry shortly")
    rule = config.rule(rule_id)
    if rule is None or rule.trigger != "api":
        raise NotFound(f"no API-triggered rule {rule_id}")
    if client.client_id not in rule.authorised_clients:
        raise Forbidden(f"client {client.client_id} is not authorised for rule {rule_id}")
    if rule.status != "active":
        raise Conflict(f"rule {rule_id} is {rule.status}, not active")
    if (rule.valid_from and now < rule.valid_from) or (
        rule.valid_until and now >= rule.valid_until
    ):
        raise Conflict(f"rule {rule_id} is outside its validity window")
    return rule
