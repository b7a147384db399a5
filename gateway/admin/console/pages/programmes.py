"""A programme's settings page, and creating a programme from nothing."""

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form, expected_version
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes
from gateway.admin.service.errors import Conflict, Invalid
from gateway.admin.service.snapshots import ProgrammeSettings, parse_settings, settings_of

router = APIRouter()
TIME_ZONES = sorted(available_timezones())
SPARE_TIER_ROWS = 2
# The inputs the settings form shows; problems of any other field go to the top of the form.
SETTINGS_INPUTS = (
    "programme_id", "name", "environment", "time_zone", "rounding", "tiers", "default_tier",
    "budget", "budget.mode", "budget.award_points_max", "event_time",
    "event_time.future_max_s", "event_time.past_max_s",
)  # fmt: skip


def _shown(invalid: Invalid) -> list[str]:
    tiers = [name for name in invalid.fields if name.startswith("tiers.")]
    return [*SETTINGS_INPUTS, *tiers]


def _context(form: Form, **more: Any) -> dict[str, Any]:
    return {"form": form, "time_zones": TIME_ZONES, "spare_tiers": SPARE_TIER_ROWS, **more}


@router.get("/programmes/new")
async def new_programme(request: Request, visitor: VisitorDep) -> Response:
    visitor.actor.require_owner("create programmes")
    form = Form.of(ProgrammeSettings().model_dump(mode="json"))
    return web.page(request, "programme/new.html", _context(form))


@router.post("/programmes/new")
async def create_programme(request: Request, visitor: VisitorDep) -> Response:
    form = Form.submitted(await request.form())
    programme_id = form.value("programme_id").strip()
    try:
        data = form.data()
        data.pop("programme_id", None)
        settings = parse_settings(data)
        await programmes.create(
            console_of(request).backend, visitor.actor, programme_id, settings, source="console"
        )
    except Conflict as exists:
        refused = form.refused(Invalid.field("programme_id", exists.message), SETTINGS_INPUTS)
        return web.page(request, "programme/new.html", _context(refused), status=422)
    except Invalid as invalid:
        refused = form.refused(invalid, _shown(invalid))
        return web.page(request, "programme/new.html", _context(refused), status=422)
    return web.redirect(f"/programmes/{programme_id}?saved=1")


@router.get("/programmes/{programme_id}")
async def settings_page(
    request: Request, programme_id: str, visitor: VisitorDep, saved: int | None = None
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    form = Form.of(settings_of(config).model_dump(mode="json"))
    context = _context(form, config=config, tab="settings", saved=saved)
    return web.page(request, "programme/settings.html", context)


@router.post("/programmes/{programme_id}")
async def save_settings(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    submitted = await request.form()
    form = Form.submitted(submitted)
    backend = console_of(request).backend
    expected = expected_version(submitted)
    try:
        settings = parse_settings(form.data())
        committed = await programmes.change_settings(
            backend, visitor.actor, programme_id, settings,
            source="console", expected_version=expected,
        )  # fmt: skip
    except Invalid as invalid:
        config = await programmes.get(backend.pool, visitor.actor, programme_id)
        context = _context(form.refused(invalid, _shown(invalid)), config=config, tab="settings")
        return web.page(request, "programme/settings.html", context, status=422)
    saved = committed.config.version if committed.changed else 0
    return web.redirect(f"/programmes/{programme_id}?saved={saved}")
