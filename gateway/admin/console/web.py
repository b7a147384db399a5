"""Rendering pages: one route answers a whole page, or, to an htmx request that targets a part
of it, only that part's template (a fragment), as the contact app of Hypermedia Systems does.
Every page gets who is asking, their CSRF token and the static files' names."""

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import JsonValue

from gateway.admin.service.snapshots import described

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
HTMX = "htmx-2.0.11.min.js"
"""The vendored htmx (static/README.md says where it came from)."""

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(htmx=HTMX)
templates.env.filters["when"] = lambda moment: _when(moment)
templates.env.filters["value"] = lambda value: _value(value)
templates.env.filters["field_id"] = lambda name: "f-" + str(name).replace(".", "-")
templates.env.filters["pairs"] = lambda values: [(str(v), str(v)) for v in values]


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _value(value: JsonValue) -> str:
    return described(value)


def htmx_target(request: Request) -> str | None:
    """The element an htmx request will swap (a boosted link or form swaps the whole body)."""
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-Boosted"):
        return None
    return request.headers.get("HX-Target")


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    fragments: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """`template` with `context`; for an htmx request targeting an element named in
    `fragments` (element id: template), just that template."""
    target = htmx_target(request)
    chosen = (fragments or {}).get(target or "", template)
    visitor = getattr(request.state, "visitor", None)
    full = {
        "visitor": visitor,
        "csrf_token": None if visitor is None else visitor.csrf_token,
        "can_change": visitor is not None and visitor.actor.can_change,
        **context,
    }
    response = templates.TemplateResponse(request, chosen, full, status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def redirect(url: str) -> RedirectResponse:
    """After a change: the page that shows it, by GET (a reload repeats nothing)."""
    return RedirectResponse(url, status_code=303)


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(here, safe='')}"


def local_path(candidate: str | None) -> str:
    """Where to go after logging in: a path of this site only (never `//elsewhere`)."""
    if candidate and candidate.startswith("/") and not candidate.startswith("//"):
        return candidate
    return "/"
