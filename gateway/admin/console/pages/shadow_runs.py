"""A programme's shadow runs (issue 17, docs/decisions/0018): the list with each run's sums,
starting one (the stored configuration or a pasted candidate) and stopping it, as the admin API
does (`gateway.admin.service.shadow_runs`: editors and owners; viewers see), and a run's page
with its report over any period, drawn as the backtest page draws its own
(`evidence.rendering.html_body`, programme/_report.html). A report reads the run's stored
decisions, at most `LOYALTY_SHADOW_REPORT_DECISIONS_MAX` per request."""

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from evidence.rendering import html_body
from evidence.shadow.store import Run
from gateway.admin.console import candidates, web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes, shadow_runs
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Conflict, Invalid, NotFound

router = APIRouter()
START_INPUTS = ("source", "candidate")
PERIOD_INPUTS = ("from", "to")


def _runs_url(programme_id: str) -> str:
    return f"/programmes/{programme_id}/shadow-runs"


@router.get("/programmes/{programme_id}/shadow-runs")
async def runs_page(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    return await _runs_page(request, programme_id, visitor, Form(values={"source": "stored"}))


async def _runs_page(
    request: Request, programme_id: str, visitor: Visitor, form: Form, status: int = 200
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    runs = await shadow_runs.listed(pool, visitor.actor, programme_id)
    context = {"config": config, "runs": runs, "form": form, "tab": "shadow"}
    return web.page(request, "programme/shadow_runs.html", context, status=status)


@router.post("/programmes/{programme_id}/shadow-runs")
async def start_run(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    # A viewer is refused before their form is looked at (403, not the file's problems).
    visitor.actor.require_editor(programme_id)
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    form = Form.submitted(await request.form())
    problems: dict[str, list[str]] = {}
    candidate = candidates.chosen(config, form.values, problems)
    try:
        if problems:
            raise Invalid(problems)
        run = await shadow_runs.start(pool, visitor.actor, programme_id, candidate)
    except Invalid as invalid:
        refused = form.refused(invalid, START_INPUTS)
        return await _runs_page(request, programme_id, visitor, refused, status=400)
    except Conflict as conflict:
        form.general.append(conflict.message)
        return await _runs_page(request, programme_id, visitor, form, status=409)
    return web.redirect(f"{_runs_url(programme_id)}/{run.run_id}?done=started")


async def _run_of(pool: asyncpg.Pool, actor: Actor, programme_id: str, run_id: int) -> Run:
    """The run, when it is this programme's (another's is not found here)."""
    run = await shadow_runs.get(pool, actor, run_id)
    if run.programme_id != programme_id:
        raise NotFound(f"no shadow run {run_id} of programme '{programme_id}'")
    return run


@router.get("/programmes/{programme_id}/shadow-runs/{run_id}")
async def run_page(
    request: Request,
    programme_id: str,
    run_id: int,
    visitor: VisitorDep,
    since: Annotated[str | None, Query(alias="from")] = None,
    until: Annotated[str | None, Query(alias="to")] = None,
    done: str | None = None,
) -> Response:
    console = console_of(request)
    pool = console.backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    run = await _run_of(pool, visitor.actor, programme_id, run_id)
    form = Form(values={"from": since or "", "to": until or ""})
    context: dict[str, Any] = {"config": config, "run": run, "tab": "shadow", "done": done}
    try:
        window = _period(form)
        reads = await shadow_runs.decisions_within(pool, run, *window)
        limit = console.settings.shadow_report_decisions_max
        if reads > limit:
            raise Invalid({"to": [
                f"this report would read {reads:,} decisions; the console reads at most "
                f"{limit:,}: choose a shorter period, or run `loyalty-admin shadow report "
                f"--run {run.run_id}`"
            ]})  # fmt: skip
        _, report = await shadow_runs.report(pool, visitor.actor, run.run_id, *window)
    except Invalid as invalid:
        context["form"] = form.refused(invalid, PERIOD_INPUTS)
        return web.page(request, "programme/shadow_run.html", context, status=400)
    context |= {"form": form, "report": Markup(html_body(report))}
    return web.page(request, "programme/shadow_run.html", context)


def _period(form: Form) -> tuple[datetime | None, datetime | None]:
    problems: dict[str, list[str]] = {}
    window = candidates.window(form.values, problems, PERIOD_INPUTS)
    if problems:
        raise Invalid(problems)
    return window


@router.post("/programmes/{programme_id}/shadow-runs/{run_id}/stop")
async def stop_run(
    request: Request, programme_id: str, run_id: int, visitor: VisitorDep
) -> Response:
    pool = console_of(request).backend.pool
    await _run_of(pool, visitor.actor, programme_id, run_id)
    await shadow_runs.stop(pool, visitor.actor, run_id)
    return web.redirect(f"{_runs_url(programme_id)}/{run_id}?done=stopped")
