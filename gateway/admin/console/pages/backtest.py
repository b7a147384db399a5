"""A programme's backtest page: a candidate configuration pasted as YAML (or the stored one, to
check it reproduces the journal) replayed over the archived history, optionally within a window,
and the report shown in the page, as `loyalty-admin backtest` computes and draws it
(`evidence.backtest`, `evidence.rendering.html_body`). Nothing is stored, so viewers may run it
too; the events replayed per request are bounded by `LOYALTY_BACKTEST_EVENTS_MAX`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from evidence.backtest import BacktestError, backtest, count
from evidence.rendering import html_body
from gateway.admin.console import candidates, web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes
from gateway.admin.service.errors import Invalid
from schemas.programme import ProgrammeConfig

router = APIRouter()
INPUTS = ("source", "candidate", "since", "until")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What to replay: the candidate and the window (None: open)."""

    candidate: ProgrammeConfig
    since: datetime | None
    until: datetime | None


def parse_form(stored: ProgrammeConfig, values: dict[str, str]) -> Wanted:
    """The submitted form as a backtest's request, or Invalid with each problem by its input."""
    problems: dict[str, list[str]] = {}
    since, until = candidates.window(values, problems)
    candidate = candidates.chosen(stored, values, problems)
    if problems:
        raise Invalid(problems)
    return Wanted(candidate, since, until)


def _context(config: ProgrammeConfig, form: Form, report: str | None = None) -> dict[str, Any]:
    return {"config": config, "form": form, "tab": "backtest",
            "report": None if report is None else Markup(report)}  # fmt: skip


@router.get("/programmes/{programme_id}/backtest")
async def backtest_page(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    form = Form(values={"source": "stored"})
    return web.page(request, "programme/backtest.html", _context(config, form))


@router.post("/programmes/{programme_id}/backtest")
async def run_backtest(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    console = console_of(request)
    pool = console.backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    form = Form.submitted(await request.form())
    try:
        wanted = parse_form(config, form.values)
        # Every event up to `until` is replayed (the history before `since` builds the users'
        # states), so that is what the bound counts.
        events = await count(pool, programme_id, wanted.until)
        limit = console.settings.backtest_events_max
        if events > limit:
            raise Invalid({"until": [
                f"this backtest would replay {events:,} archived events (the window and the "
                f"history before it); the console replays at most {limit:,}: choose an earlier "
                "To, or run `loyalty-admin backtest` for the whole history"
            ]})  # fmt: skip
        report = await backtest(pool, programme_id, wanted.candidate, wanted.since, wanted.until)
    except Invalid as invalid:
        refused = form.refused(invalid, INPUTS)
        return web.page(request, "programme/backtest.html", _context(config, refused), status=400)
    except BacktestError as exc:
        form.general.append(str(exc))
        return web.page(request, "programme/backtest.html", _context(config, form), status=400)
    return web.page(request, "programme/backtest.html", _context(config, form, html_body(report)))
