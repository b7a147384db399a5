"""A programme's webhooks: the subscriptions (with their deliveries' counts), creating one (its
signing secret shown once), deactivating one; the deliveries with their status and last error,
filtered by webhook and status (the filter swaps only the results), and retry now."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes, webhooks
from gateway.admin.service.errors import Invalid

router = APIRouter()
GROUPS = ("event_types",)
INPUTS = ("subscription_id", "url", "event_types")
PAGE_SIZE = 50


def _status(text: str | None) -> webhooks.DeliveryStatus | None:
    return next((s for s in webhooks.DELIVERY_STATUSES if s == text), None)


@router.get("/programmes/{programme_id}/webhooks")
async def webhooks_page(
    request: Request,
    programme_id: str,
    visitor: VisitorDep,
    webhook: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query()] = None,
    retried: int | None = None,
    deactivated: str | None = None,
) -> Response:
    form = Form(chosen={"event_types": list(webhooks.DEFAULT_EVENT_TYPES)})
    filters = webhooks.DeliveryFilters(webhook or None, _status(status), before, PAGE_SIZE)
    return await _page(request, programme_id, visitor, form, filters,
                       retried=retried, deactivated=deactivated)  # fmt: skip


async def _page(
    request: Request,
    programme_id: str,
    visitor: Visitor,
    form: Form,
    filters: webhooks.DeliveryFilters | None = None,
    status: int = 200,
    **notices: object,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    filters = filters or webhooks.DeliveryFilters(limit=PAGE_SIZE)
    found = await webhooks.deliveries(pool, visitor.actor, programme_id, filters)
    context = {
        "config": config, "webhooks": await webhooks.listed(pool, visitor.actor, programme_id),
        "deliveries": found, "filters": filters, "statuses": webhooks.DELIVERY_STATUSES,
        "older": found[-1].delivery_id if len(found) == PAGE_SIZE else None,
        "event_types": webhooks.EVENT_TYPES, "form": form, "tab": "webhooks", **notices,
    }  # fmt: skip
    return web.page(
        request, "webhooks/list.html", context, status=status,
        fragments={"deliveries-results": "webhooks/_deliveries.html"},
    )  # fmt: skip


@router.post("/programmes/{programme_id}/webhooks")
async def create_webhook(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    form = Form.submitted(await request.form(), GROUPS)
    backend = console_of(request).backend
    try:
        data = form.data()
        if not data.get("event_types"):
            data.pop("event_types", None)
            raise Invalid.field("event_types", "choose at least one event type")
        made = await webhooks.create(backend, visitor.actor, programme_id, webhooks.parse(data))
    except Invalid as invalid:
        return await _page(request, programme_id, visitor, form.refused(invalid, INPUTS),
                           status=422)  # fmt: skip
    config = await programmes.get(backend.pool, visitor.actor, programme_id)
    context = {"config": config, "created": made, "tab": "webhooks"}
    # The secret is in this page only: no cache may keep it.
    return web.page(request, "webhooks/created.html", context, status=201)


@router.post("/programmes/{programme_id}/webhooks/{subscription_id}/deactivate")
async def deactivate(
    request: Request, programme_id: str, subscription_id: str, visitor: VisitorDep
) -> Response:
    await webhooks.deactivate(console_of(request).backend, visitor.actor, programme_id,
                              subscription_id)  # fmt: skip
    return web.redirect(f"/programmes/{programme_id}/webhooks?deactivated={subscription_id}")


@router.post("/programmes/{programme_id}/webhook-deliveries/{delivery_id}/retry")
async def retry(
    request: Request, programme_id: str, delivery_id: int, visitor: VisitorDep
) -> Response:
    await webhooks.retry(console_of(request).backend, visitor.actor, programme_id, delivery_id)
    return web.redirect(f"/programmes/{programme_id}/webhooks?retried={delivery_id}")
