"""A programme's users: find one by id; their balance, tier and transactions, each with its
explanation ("why these points?", swapped in by htmx); a manual adjustment and setting a tier
(forms with a one-time key, so that a double submit changes nothing twice)."""

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import adjustments, programmes, users
from gateway.admin.service.errors import Invalid
from ledger import reads

router = APIRouter()
PAGE_SIZE = 25
ADJUSTMENT_INPUTS = ("transaction_type", "points", "reason")


def one_time_key() -> str:
    """A form's key: the same submission twice is one change."""
    return secrets.token_urlsafe(18)


@router.get("/programmes/{programme_id}/users")
async def find_page(
    request: Request,
    programme_id: str,
    visitor: VisitorDep,
    user_id: Annotated[str | None, Query()] = None,
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    form = Form(values={"user_id": user_id or ""})
    if user_id is not None:
        try:
            found = users.user_id_of(user_id)
        except Invalid as invalid:
            context = {"config": config, "form": form.refused(invalid), "tab": "users"}
            return web.page(request, "users/find.html", context, status=422)
        return web.redirect(_user_url(programme_id, found))
    return web.page(request, "users/find.html", {"config": config, "form": form, "tab": "users"})


def _user_url(programme_id: str, user_id: str, query: str = "") -> str:
    return f"/programmes/{programme_id}/users/{quote(user_id, safe='')}{query}"


@router.get("/programmes/{programme_id}/users/{user_id}")
async def user_page(
    request: Request,
    programme_id: str,
    user_id: str,
    visitor: VisitorDep,
    before: Annotated[int | None, Query()] = None,
    adjusted: Annotated[str | None, Query()] = None,
    tier_set: Annotated[str | None, Query()] = None,
) -> Response:
    notices = await _notices(request, programme_id, adjusted, tier_set)
    return await _user_page(request, programme_id, user_id, visitor, before=before, **notices)


async def _notices(
    request: Request, programme_id: str, adjusted: str | None, tier_set: str | None
) -> dict[str, Any]:
    """What a change redirected here to say: its outcome, read again (a reload says the same,
    and a pending one shows its outcome once the ledger has it)."""
    pool = console_of(request).backend.pool
    notices: dict[str, Any] = {}
    if adjusted:
        outcome = await reads.get_outcome(pool, adjusted, programme_id=programme_id)
        notices["adjusted"] = adjustments.Adjusted(adjusted, outcome)
    if tier_set:
        outcome = await reads.get_outcome(pool, tier_set, programme_id=programme_id)
        notices["tier_set"] = users.TierSet(tier_set, "", outcome)
    return notices


async def _user_page(
    request: Request,
    programme_id: str,
    user_id: str,
    visitor: Visitor,
    *,
    before: int | None = None,
    adjustment: Form | None = None,
    tier_form: Form | None = None,
    status: int = 200,
    **more: Any,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    user = await users.find(pool, visitor.actor, programme_id, user_id)
    entries = await users.transactions(
        pool, visitor.actor, programme_id, user.user_id, before_id=before, limit=PAGE_SIZE
    )
    context = {
        "config": config,
        "user": user,
        "entries": entries,
        "older": entries[-1].entry_id if len(entries) == PAGE_SIZE else None,
        "before": before,
        "adjustment": adjustment
        or Form(values={"transaction_type": "Credit", "key": one_time_key()}),
        "tier_form": tier_form or Form(values={"tier": user.tier.name, "key": one_time_key()}),
        "user_url": _user_url(programme_id, user.user_id),
        "tab": "users",
        **more,
    }
    return web.page(request, "users/user.html", context, status=status)


@router.get("/programmes/{programme_id}/users/{user_id}/transactions/{entry_id}")
async def explanation(
    request: Request, programme_id: str, user_id: str, entry_id: int, visitor: VisitorDep
) -> Response:
    """The entry's explanation: a fragment for the user's page (htmx), or a page of its own."""
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    found = await users.explained(pool, visitor.actor, programme_id, user_id, entry_id)
    context = {
        "config": config,
        "explained": found,
        "user_id": user_id,
        "user_url": _user_url(programme_id, user_id),
        "tab": "users",
    }
    return web.page(
        request, "users/explanation.html", context,
        fragments={"explanation": "users/_explanation.html"},
    )  # fmt: skip


@router.post("/programmes/{programme_id}/users/{user_id}/adjustments")
async def adjust(
    request: Request, programme_id: str, user_id: str, visitor: VisitorDep
) -> Response:
    form = Form.submitted(await request.form())
    backend = console_of(request).backend
    key = form.value("key") or None
    try:
        data = {name: form.value(name) for name in ADJUSTMENT_INPUTS}
        done = await adjustments.adjust(
            backend, visitor.actor, programme_id, user_id, adjustments.parse(data), key
        )
    except Invalid as invalid:
        refused = form.refused(invalid, ADJUSTMENT_INPUTS)
        return await _user_page(request, programme_id, user_id, visitor, adjustment=refused,
                                status=422)  # fmt: skip
    if done.status == "rejected" and done.outcome is not None:
        # Refused by the ledger: said at the top of the form, which gets a new key (the old one
        # stands for this refused request; a changed amount is another request).
        code = done.outcome.reason_code.value if done.outcome.reason_code else "rejected"
        problem = f"The ledger refused it ({code}): {done.outcome.reason or code}"
        refused = Form(dict(form.values) | {"key": one_time_key()}, general=[problem])
        return await _user_page(request, programme_id, user_id, visitor, adjustment=refused,
                                status=422)  # fmt: skip
    return web.redirect(_user_url(programme_id, user_id, f"?adjusted={done.command_id}"))


@router.post("/programmes/{programme_id}/users/{user_id}/tier")
async def set_tier(
    request: Request, programme_id: str, user_id: str, visitor: VisitorDep
) -> Response:
    form = Form.submitted(await request.form())
    backend = console_of(request).backend
    try:
        done = await users.set_tier(
            backend, visitor.actor, programme_id, user_id, form.value("tier"),
            form.value("key") or None,
        )  # fmt: skip
    except Invalid as invalid:
        refused = form.refused(invalid, ("tier",))
        return await _user_page(request, programme_id, user_id, visitor, tier_form=refused,
                                status=422)  # fmt: skip
    return web.redirect(_user_url(programme_id, user_id, f"?tier_set={done.event_id}"))
