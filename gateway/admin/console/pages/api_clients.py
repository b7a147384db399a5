"""A programme's API clients (seed 001's "authorised clients"): the list with the rules that
authorise each, creating one (its secret shown once), revoking one."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import api_clients, programmes
from gateway.admin.service.errors import Conflict, Invalid

router = APIRouter()


@router.get("/programmes/{programme_id}/clients")
async def clients_page(
    request: Request, programme_id: str, visitor: VisitorDep, revoked: str | None = None
) -> Response:
    return await _clients_page(request, programme_id, visitor, Form(), revoked=revoked)


async def _clients_page(
    request: Request,
    programme_id: str,
    visitor: Visitor,
    form: Form,
    status: int = 200,
    revoked: str | None = None,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    clients = await api_clients.listed(pool, visitor.actor, programme_id)
    context = {"config": config, "clients": clients, "form": form, "tab": "clients",
               "revoked": revoked}  # fmt: skip
    return web.page(request, "programme/clients.html", context, status=status)


@router.post("/programmes/{programme_id}/clients")
async def create_client(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    form = Form.submitted(await request.form())
    backend = console_of(request).backend
    try:
        issued = await api_clients.create(
            backend, visitor.actor, programme_id, form.value("client_id").strip(),
            form.value("name").strip() or None, source="console",
        )  # fmt: skip
    except Conflict as taken:
        refused = form.refused(Invalid.field("client_id", taken.message))
        return await _clients_page(request, programme_id, visitor, refused, 422)
    except Invalid as invalid:
        return await _clients_page(request, programme_id, visitor, form.refused(invalid), 422)
    config = await programmes.get(backend.pool, visitor.actor, programme_id)
    context = {"config": config, "issued": issued, "tab": "clients"}
    # The secret is in this page only: no cache may keep it (the console's pages are no-store).
    return web.page(request, "programme/client_issued.html", context, status=201)


@router.post("/programmes/{programme_id}/clients/{client_id}/revoke")
async def revoke_client(
    request: Request, programme_id: str, client_id: str, visitor: VisitorDep
) -> Response:
    await api_clients.revoke(console_of(request).backend, visitor.actor, programme_id, client_id)
    return web.redirect(f"/programmes/{programme_id}/clients?revoked={client_id}")
