"""'Try an event' under a programme: the event's type, its declared parameters (the inputs follow
the chosen type), a user and optionally a partner; the answer shows the points, the reason and
each rule's trace. Nothing is stored, so viewers may try too."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes, trying
from gateway.admin.service.errors import Invalid, Unavailable
from schemas.previews import PreviewReply
from schemas.programme import ProgrammeConfig

router = APIRouter()
FRAGMENTS = {"parameters": "programme/_try_parameters.html"}
INPUTS = ("user_id", "event_type", "partner_id", "occurred_at", "include_drafts")


def _context(config: ProgrammeConfig, form: Form, **more: Any) -> dict[str, Any]:
    chosen = config.event_type(form.value("event_type"))
    if chosen is None and config.event_types:
        chosen = config.event_types[0]
    drafts = [rule for rule in config.rules if rule.status == "draft"]
    return {"config": config, "form": form, "tab": "try", "chosen": chosen, "drafts": drafts,
            "reply": None, **more}  # fmt: skip


@router.get("/programmes/{programme_id}/try")
async def try_page(
    request: Request, programme_id: str, visitor: VisitorDep, event_type: str = ""
) -> Response:
    """The form; with `event_type`, its parameters' inputs (alone, for htmx)."""
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    form = Form(values={"event_type": event_type} if event_type else {})
    return web.page(request, "programme/try.html", _context(config, form), fragments=FRAGMENTS)


@router.post("/programmes/{programme_id}/try")
async def try_event(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    backend = console_of(request).backend
    config = await programmes.get(backend.pool, visitor.actor, programme_id)
    form = Form.submitted(await request.form())
    reply: PreviewReply | None = None
    try:
        trial = trying.parse_form(config, form.data())
        reply = await trying.try_event(backend, visitor.actor, programme_id, trial)
    except Invalid as invalid:
        shown = (*INPUTS, *(f"metadata.{name}" for name in _parameter_names(config, form)))
        refused = form.refused(invalid, shown)
        return web.page(request, "programme/try.html", _context(config, refused), status=422)
    except Unavailable as unavailable:
        # Shown on the page (status 200: htmx swaps it in; a 503 it would not show).
        form.general.append(unavailable.message)
    return web.page(request, "programme/try.html", _context(config, form, reply=reply))


def _parameter_names(config: ProgrammeConfig, form: Form) -> list[str]:
    chosen = config.event_type(form.value("event_type"))
    return [] if chosen is None else [p.name for p in chosen.parameters]
