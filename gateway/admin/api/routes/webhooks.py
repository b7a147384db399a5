"""A programme's webhooks: create (the signing secret in the answer, once), list, deactivate;
their deliveries with status and last error, and retry now."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import webhooks
from gateway.admin.service.webhooks import NewWebhook

router = APIRouter(tags=["webhooks"])


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subscription_id: str
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_at: datetime
    pending: int = Field(description="Deliveries waiting to be sent (or retried).")
    failed: int = Field(description="Deliveries given up on.")
    delivered: int


class CreatedWebhook(WebhookOut):
    secret: str = Field(
        description="The signing secret (`Loyalty-Signature` is HMAC-SHA256 with it): shown "
        "this once, in no later answer."
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delivery_id: int
    subscription_id: str
    command_id: str = Field(description="The ledger command (an event's id) it notifies.")
    event_type: str
    status: webhooks.DeliveryStatus
    attempts: int
    next_attempt_at: datetime = Field(description="When a pending delivery is due.")
    last_http_status: int | None
    last_error: str | None = Field(description="The receiver's answer, or the transport error.")
    created_at: datetime
    finished_at: datetime | None
    claimed_until: datetime | None = Field(
        description="While a dispatcher is posting it: the end of its lease."
    )
    claimed_by: str | None


class DeliveriesPage(BaseModel):
    deliveries: list[DeliveryOut] = Field(description="Newest first.")
    next_before_id: int | None = Field(
        description="Pass as `before_id` for the next (older) page; null at the end."
    )


@router.get("/programmes/{programme_id}/webhooks", response_model=list[WebhookOut])
async def list_webhooks(request: Request, actor: ActorDep, programme_id: str) -> list[WebhookOut]:
    found = await webhooks.listed(console_of(request).backend.pool, actor, programme_id)
    return [WebhookOut.model_validate(w) for w in found]


@router.post("/programmes/{programme_id}/webhooks", status_code=201, response_model=CreatedWebhook)
async def create_webhook(
    request: Request, actor: ActorDep, programme_id: str, body: NewWebhook
) -> CreatedWebhook:
    made = await webhooks.create(console_of(request).backend, actor, programme_id, body)
    return CreatedWebhook.model_validate(
        WebhookOut.model_validate(made.webhook).model_dump() | {"secret": made.secret}
    )


@router.post(
    "/programmes/{programme_id}/webhooks/{subscription_id}/deactivate", response_model=WebhookOut
)
async def deactivate_webhook(
    request: Request, actor: ActorDep, programme_id: str, subscription_id: str
) -> WebhookOut:
    """Nothing more is sent to it, its pending deliveries included."""
    done = await webhooks.deactivate(
        console_of(request).backend, actor, programme_id, subscription_id
    )
    return WebhookOut.model_validate(done)


@router.get("/programmes/{programme_id}/webhook-deliveries", response_model=DeliveriesPage)
async def list_deliveries(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    subscription_id: str | None = None,
    status: webhooks.DeliveryStatus | None = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=webhooks.PAGE_MAX)] = 50,
) -> DeliveriesPage:
    filters = webhooks.DeliveryFilters(subscription_id, status, before_id, limit)
    found = await webhooks.deliveries(
        console_of(request).backend.pool, actor, programme_id, filters
    )
    return DeliveriesPage(
        deliveries=[DeliveryOut.model_validate(d) for d in found],
        next_before_id=found[-1].delivery_id if len(found) == limit else None,
    )


@router.post(
    "/programmes/{programme_id}/webhook-deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
)
async def retry_delivery(
    request: Request, actor: ActorDep, programme_id: str, delivery_id: int
) -> DeliveryOut:
    """A pending or failed delivery is made due now (409 if delivered, or being posted)."""
    done = await webhooks.retry(console_of(request).backend, actor, programme_id, delivery_id)
    return DeliveryOut.model_validate(done)
