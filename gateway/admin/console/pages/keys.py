"""A programme's partner API keys: the list, issuing one (shown once), revoking one."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import api_keys, programmes
from gateway.admin.service.errors import Invalid

router = APIRouter()


@router.get("/programmes/{programme_id}/keys")
async def keys_page(
    request: Request, programme_id: str, visitor: VisitorDep, revoked: str | None = None
) -> Response:
    return await _keys_page(request, programme_id, visitor, Form(), revoked=revoked)


async def _keys_page(
    request: Request,
    programme_id: str,
    visitor: Visitor,
    form: Form,
    status: int = 200,
    revoked: str | None = None,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    keys = await api_keys.listed(pool, visitor.actor, programme_id)
    context = {"config": config, "keys": keys, "form": form, "tab": "keys", "revoked": revoked}
    return web.page(
        request, "programme/keys.html", context, status=status,
        fragments={"keys-table": "programme/_keys_table.html"},
    )  # fmt: skip


@router.post("/programmes/{programme_id}/keys")
async def issue_key(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    form = Form.submitted(await request.form())
    backend = console_of(request).backend
    config = await programmes.get(backend.pool, visitor.actor, programme_id)
    try:
        issued = await api_keys.issue(
            backend, visitor.actor, programme_id, form.value("partner_id"), config.environment
        )
    except Invalid as invalid:
        return await _keys_page(request, programme_id, visitor, form.refused(invalid), 422)
    context = {"config": config, "issued": issued, "partner_id": form.value("partner_id"),
               "tab": "keys"}  # fmt: skip
    # The key is in this page only: no cache may keep it.
    return web.page(request, "programme/key_issued.html", context, status=201)


@router.post("/programmes/{programme_id}/keys/{key_id}/revoke")
async def revoke_key(
    request: Request, programme_id: str, key_id: str, visitor: VisitorDep
) -> Response:
    await api_keys.revoke(console_of(request).backend, visitor.actor, programme_id, key_id)
    return web.redirect(f"/programmes/{programme_id}/keys?revoked={key_id}")
