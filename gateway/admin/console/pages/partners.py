"""A programme's partners: the list, adding one, changing one, removing one (confirmed)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form, expected_version
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import partners, programmes
from gateway.admin.service.errors import Invalid, NotFound
from schemas.programme import Partner, ProgrammeConfig

router = APIRouter()
GROUPS = ("allowed_event_types",)
INPUTS = ("partner_id", "multiplier", "rate_limit_per_minute", "allowed_event_types")


def _context(config: ProgrammeConfig, form: Form, **more: Any) -> dict[str, Any]:
    return {"config": config, "form": form, "tab": "partners", **more}


@router.get("/programmes/{programme_id}/partners")
async def partners_page(
    request: Request, programme_id: str, visitor: VisitorDep, saved: int | None = None,
    removed: str | None = None,
) -> Response:  # fmt: skip
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    form = Form.of(Partner.model_construct(partner_id="").model_dump(mode="json"), GROUPS)
    context = _context(config, form, saved=saved, removed=removed)
    return web.page(request, "programme/partners.html", context)


@router.get("/programmes/{programme_id}/partners/{partner_id}")
async def partner_page(
    request: Request, programme_id: str, partner_id: str, visitor: VisitorDep
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    partner = _partner(config, partner_id)
    form = Form.of(partner.model_dump(mode="json"), GROUPS)
    return web.page(request, "programme/partner.html", _context(config, form, partner=partner))


def _partner(config: ProgrammeConfig, partner_id: str) -> Partner:
    partner = config.partner(partner_id)
    if partner is None:
        raise NotFound(f"programme {config.programme_id} has no partner '{partner_id}'")
    return partner


@router.post("/programmes/{programme_id}/partners")
async def save_partner(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    """Adds a partner, or (from its own page) changes it."""
    submitted = await request.form()
    form = Form.submitted(submitted, GROUPS)
    backend = console_of(request).backend
    editing = submitted.get("editing") == "true"
    try:
        data = form.data()
        data.pop("editing", None)
        partner = partners.parse(data)
        committed = await partners.put(
            backend, visitor.actor, programme_id, partner, source="console",
            expected_version=expected_version(submitted), new=not editing,
        )  # fmt: skip
    except Invalid as invalid:
        config = await programmes.get(backend.pool, visitor.actor, programme_id)
        refused = form.refused(invalid, INPUTS)
        template = "programme/partner.html" if editing else "programme/partners.html"
        context = _context(config, refused, partner=config.partner(form.value("partner_id")))
        return web.page(request, template, context, status=422)
    saved = committed.config.version if committed.changed else 0
    return web.redirect(f"/programmes/{programme_id}/partners?saved={saved}")


@router.get("/programmes/{programme_id}/partners/{partner_id}/remove")
async def confirm_removal(
    request: Request, programme_id: str, partner_id: str, visitor: VisitorDep
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    visitor.actor.require_editor(programme_id)
    partner = _partner(config, partner_id)
    context = _context(config, Form(), partner=partner)
    return web.page(request, "programme/partner_remove.html", context)


@router.post("/programmes/{programme_id}/partners/{partner_id}/remove")
async def remove_partner(
    request: Request, programme_id: str, partner_id: str, visitor: VisitorDep
) -> Response:
    submitted = await request.form()
    await partners.remove(
        console_of(request).backend, visitor.actor, programme_id, partner_id, source="console",
        expected_version=expected_version(submitted),
    )  # fmt: skip
    return web.redirect(f"/programmes/{programme_id}/partners?removed={partner_id}")
