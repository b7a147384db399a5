"""The audit log: every change, newest first, filtered by programme and object; the filter
form swaps only the results (htmx) and keeps the filter in the address."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import audit, programmes

router = APIRouter()
PAGE_SIZE = 50
OBJECT_TYPES: tuple[str, ...] = ("programme", "partner", "api_key", "admin", "token")
OBJECT_TYPES += (
    "user", "dead_letter", "offer", "myrewards_user_group", "myrewards_question",
    "myrewards_promotion", "myrewards_data_field", "myrewards_product", "webhook",
    "webhook_delivery",
)  # fmt: skip


@router.get("/audit")
async def audit_page(
    request: Request,
    visitor: VisitorDep,
    programme: Annotated[str | None, Query()] = None,
    object_type: Annotated[str | None, Query()] = None,
    object_id: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query()] = None,
) -> Response:
    pool = console_of(request).backend.pool
    filters = audit.Filters(
        programme_id=programme or None,
        object_type=object_type or None,
        object_id=(object_id or "").strip() or None,
        before_id=before,
        limit=PAGE_SIZE,
    )
    entries = await audit.entries(pool, visitor.actor, filters)
    older = entries[-1].audit_id if len(entries) == PAGE_SIZE else None
    context = {
        "entries": entries,
        "filters": filters,
        "older": older,
        "programmes": await programmes.visible(pool, visitor.actor),
        "object_types": OBJECT_TYPES,
        "tab": "audit",
    }
    return web.page(
        request, "audit.html", context, fragments={"audit-results": "_audit_results.html"}
    )
