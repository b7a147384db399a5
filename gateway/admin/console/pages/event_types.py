"""A programme's event types and their typed parameters: the list, adding one, changing one's
parameters, removing one (confirmed; refused while a rule or a partner uses it)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form, expected_version
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import event_types, programmes
from gateway.admin.service.errors import Conflict, Invalid, NotFound
from gateway.admin.service.rule_changes import users_of_event_type
from schemas.programme import EventType, ProgrammeConfig

router = APIRouter()
SPARE_PARAMETER_ROWS = 3
TYPES = (("integer", "Integer"), ("float", "Float"), ("string", "String"), ("boolean", "Boolean"))


def _context(config: ProgrammeConfig, form: Form, **more: Any) -> dict[str, Any]:
    return {"config": config, "form": form, "tab": "event-types", "types": TYPES,
            "spare": SPARE_PARAMETER_ROWS, "users": users_of_event_type, **more}  # fmt: skip


@router.get("/programmes/{programme_id}/event-types")
async def event_types_page(
    request: Request, programme_id: str, visitor: VisitorDep, saved: int | None = None,
    removed: str | None = None,
) -> Response:  # fmt: skip
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    context = _context(config, Form(), saved=saved, removed=removed)
    return web.page(request, "programme/event_types.html", context)


@router.get("/programmes/{programme_id}/event-types/{name}")
async def event_type_page(
    request: Request, programme_id: str, name: str, visitor: VisitorDep
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    event_type = _event_type(config, name)
    form = Form.of(event_type.model_dump(mode="json"))
    context = _context(config, form, event_type=event_type)
    return web.page(request, "programme/event_type.html", context)


async def _config(request: Request, visitor: Visitor, programme_id: str) -> ProgrammeConfig:
    return await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)


def _event_type(config: ProgrammeConfig, name: str) -> EventType:
    event_type = config.event_type(name)
    if event_type is None:
        raise NotFound(f"programme {config.programme_id} has no event type '{name}'")
    return event_type


@router.post("/programmes/{programme_id}/event-types")
async def save_event_type(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    """Adds an event type, or (from its own page) changes its parameters."""
    submitted = await request.form()
    form = Form.submitted(submitted)
    backend = console_of(request).backend
    editing = submitted.get("editing") == "true"
    try:
        data = form.data()
        data.pop("editing", None)
        data.setdefault("parameters", [])
        committed = await event_types.put(
            backend, visitor.actor, programme_id, event_types.parse(data), source="console",
            expected_version=expected_version(submitted), new=not editing,
        )  # fmt: skip
    except Invalid as invalid:
        config = await programmes.get(backend.pool, visitor.actor, programme_id)
        shown = ["name", *(n for n in invalid.fields if n.startswith("parameters"))]
        template = "programme/event_type.html" if editing else "programme/event_types.html"
        context = _context(
            config, form.refused(invalid, shown), event_type=config.event_type(form.value("name"))
        )
        return web.page(request, template, context, status=422)
    saved = committed.config.version if committed.changed else 0
    return web.redirect(f"/programmes/{programme_id}/event-types?saved={saved}")


@router.get("/programmes/{programme_id}/event-types/{name}/remove")
async def confirm_removal(
    request: Request, programme_id: str, name: str, visitor: VisitorDep
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    visitor.actor.require_editor(programme_id)
    context = _context(config, Form(), event_type=_event_type(config, name))
    return web.page(request, "programme/event_type_remove.html", context)


@router.post("/programmes/{programme_id}/event-types/{name}/remove")
async def remove_event_type(
    request: Request, programme_id: str, name: str, visitor: VisitorDep
) -> Response:
    submitted = await request.form()
    backend = console_of(request).backend
    try:
        await event_types.remove(
            backend, visitor.actor, programme_id, name, source="console",
            expected_version=expected_version(submitted),
        )  # fmt: skip
    except Conflict as refused:
        config = await programmes.get(backend.pool, visitor.actor, programme_id)
        form = Form(general=[refused.message])
        context = _context(config, form, event_type=_event_type(config, name))
        return web.page(request, "programme/event_type_remove.html", context, status=409)
    return web.redirect(f"/programmes/{programme_id}/event-types?removed={name}")
