"""Dead letters: the list (new ones first by default, filtered by status, programme and reason;
the filter swaps only the results), one letter with its original bytes, replay and discard."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import dead_letters, programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Forbidden, Invalid

router = APIRouter()
PAGE_SIZE = 50


def _status(text: str | None) -> dead_letters.Status | None:
    return next((s for s in dead_letters.STATUSES if s == text), None)


@router.get("/dead-letters")
async def letters_page(
    request: Request,
    visitor: VisitorDep,
    status: Annotated[str | None, Query()] = "new",
    programme: Annotated[str | None, Query()] = None,
    reason: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query()] = None,
) -> Response:
    pool = console_of(request).backend.pool
    filters = dead_letters.Filters(
        status=_status(status), programme_id=programme or None, reason=reason or None,
        before_id=before, limit=PAGE_SIZE,
    )  # fmt: skip
    letters = await dead_letters.listed(pool, visitor.actor, filters)
    context = {
        "letters": letters,
        "filters": filters,
        "older": letters[-1].dead_letter_id if len(letters) == PAGE_SIZE else None,
        "programmes": await programmes.visible(pool, visitor.actor),
        "reasons": await dead_letters.reasons(pool, visitor.actor),
        "statuses": dead_letters.STATUSES,
        "tab": "dead_letters",
    }
    return web.page(
        request, "dead_letters/list.html", context,
        fragments={"letters-results": "dead_letters/_results.html"},
    )  # fmt: skip


@router.get("/dead-letters/{dead_letter_id}")
async def letter_page(
    request: Request, dead_letter_id: int, visitor: VisitorDep, done: str | None = None
) -> Response:
    letter = await dead_letters.get(console_of(request).backend.pool, visitor.actor, dead_letter_id)
    return _letter_page(request, letter, visitor.actor, done=done)


def _letter_page(
    request: Request,
    letter: dead_letters.Letter,
    actor: Actor,
    *,
    done: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    try:
        dead_letters.require_changeable(actor, letter)
        changeable = True
    except Forbidden:  # shown without its buttons
        changeable = False
    context = {
        "letter": letter,
        "done": done,
        "problem": problem,
        "changeable": changeable and letter.status == "new",
        "tab": "dead_letters",
    }
    return web.page(request, "dead_letters/letter.html", context, status=status)


@router.post("/dead-letters/{dead_letter_id}/replay")
async def replay(request: Request, dead_letter_id: int, visitor: VisitorDep) -> Response:
    backend = console_of(request).backend
    try:
        await dead_letters.replay(backend, visitor.actor, dead_letter_id)
    except Invalid as invalid:
        letter = await dead_letters.get(backend.pool, visitor.actor, dead_letter_id)
        return _letter_page(request, letter, visitor.actor, problem=invalid.message, status=422)
    return web.redirect(f"/dead-letters/{dead_letter_id}?done=replayed")


@router.post("/dead-letters/{dead_letter_id}/discard")
async def discard(request: Request, dead_letter_id: int, visitor: VisitorDep) -> Response:
    await dead_letters.discard(console_of(request).backend, visitor.actor, dead_letter_id)
    return web.redirect(f"/dead-letters/{dead_letter_id}?done=discarded")
