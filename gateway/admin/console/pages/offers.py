"""A programme's Kwegg offers: the list (with each one's status), creating one, ending one."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import offers, programmes
from gateway.admin.service.errors import Invalid

router = APIRouter()
INPUTS = ("offer_id", "name", "description", "points", "valid_until")


@router.get("/programmes/{programme_id}/offers")
async def offers_page(
    request: Request,
    programme_id: str,
    visitor: VisitorDep,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    created: str | None = None,
    ended: str | None = None,
) -> Response:
    return await _page(request, programme_id, visitor, Form(), page, created=created, ended=ended)


async def _page(
    request: Request,
    programme_id: str,
    visitor: Visitor,
    form: Form,
    number: int = 1,
    status: int = 200,
    **notices: str | None,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    found = await offers.page(pool, visitor.actor, programme_id, number)
    pages = max(1, -(-found.total_count // offers.PAGE_SIZE))
    context = {
        "config": config, "offers": found.offers, "total": found.total_count, "page": number,
        "pages": pages, "now": datetime.now(UTC), "form": form, "tab": "offers", **notices,
    }  # fmt: skip
    return web.page(request, "offers/list.html", context, status=status)


@router.post("/programmes/{programme_id}/offers")
async def create_offer(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    form = Form.submitted(await request.form())
    backend = console_of(request).backend
    config = await programmes.get(backend.pool, visitor.actor, programme_id)
    try:
        new = offers.parse({name: form.value(name) for name in INPUTS}, config.time_zone)
        made = await offers.create(backend, visitor.actor, programme_id, new)
    except Invalid as invalid:
        return await _page(
            request, programme_id, visitor, form.refused(invalid, INPUTS), status=422
        )
    return web.redirect(f"/programmes/{programme_id}/offers?created={made.offer_id}")


@router.post("/programmes/{programme_id}/offers/{offer_id}/end")
async def end_offer(
    request: Request, programme_id: str, offer_id: str, visitor: VisitorDep
) -> Response:
    await offers.end(console_of(request).backend, visitor.actor, programme_id, offer_id)
    return web.redirect(f"/programmes/{programme_id}/offers?ended={offer_id}")
