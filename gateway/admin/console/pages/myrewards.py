"""A programme's MyRewards set-up: its lists (groups, registration questions, promotions, data
fields, products) and a form per row, built from the file model's fields."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.row_fields import default_values, form_values, row_data, row_fields
from gateway.admin.console.sessions import Visitor, VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import myrewards, programmes
from gateway.admin.service.errors import Invalid

router = APIRouter()
TITLES = {
    "user_groups": ("User groups", "user group"),
    "registration_questions": ("Registration questions", "registration question"),
    "promotions": ("Promotions", "promotion"),
    "data_fields": ("Data fields", "data field"),
    "products": ("Products", "product"),
}


@router.get("/programmes/{programme_id}/myrewards")
async def setup_page(
    request: Request, programme_id: str, visitor: VisitorDep, saved: str | None = None
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, visitor.actor, programme_id)
    setup = await myrewards.setup(pool, visitor.actor, programme_id)
    context = {"config": config, "setup": setup, "titles": TITLES, "saved": saved,
               "tab": "myrewards"}  # fmt: skip
    return web.page(request, "myrewards/setup.html", context)


@router.get("/programmes/{programme_id}/myrewards/{kind}/new")
async def new_row(request: Request, programme_id: str, kind: str, visitor: VisitorDep) -> Response:
    found = myrewards.kind_of(kind)
    visitor.actor.require_editor(programme_id)
    pool = console_of(request).backend.pool
    setup = await myrewards.setup(pool, visitor.actor, programme_id)
    next_id = max((row.id for row in getattr(setup, found)), default=0) + 1
    form = Form(values=default_values(myrewards.ROWS[found]) | {"id": str(next_id)})
    return await _row_page(request, programme_id, found, visitor, form, editing=False)


@router.get("/programmes/{programme_id}/myrewards/{kind}/{row_id}")
async def row_page(
    request: Request, programme_id: str, kind: str, row_id: int, visitor: VisitorDep
) -> Response:
    found = myrewards.kind_of(kind)
    setup = await myrewards.setup(console_of(request).backend.pool, visitor.actor, programme_id)
    row = myrewards.row_of(setup, found, row_id)
    form = Form(values=form_values(row))
    return await _row_page(request, programme_id, found, visitor, form, editing=True)


async def _row_page(
    request: Request,
    programme_id: str,
    kind: myrewards.Kind,
    visitor: Visitor,
    form: Form,
    *,
    editing: bool,
    status: int = 200,
) -> Response:
    config = await programmes.get(console_of(request).backend.pool, visitor.actor, programme_id)
    context = {
        "config": config, "kind": kind, "title": TITLES[kind], "form": form, "editing": editing,
        "fields": row_fields(myrewards.ROWS[kind]), "tab": "myrewards",
    }  # fmt: skip
    return web.page(request, "myrewards/row.html", context, status=status)


@router.post("/programmes/{programme_id}/myrewards/{kind}")
async def save_row(request: Request, programme_id: str, kind: str, visitor: VisitorDep) -> Response:
    found = myrewards.kind_of(kind)
    submitted = await request.form()
    form = Form.submitted(submitted)
    editing = submitted.get("editing") == "true"
    fields = row_fields(myrewards.ROWS[found])
    try:
        row = myrewards.parse_row(found, row_data(fields, form.values))
        saved = await myrewards.put_row(
            console_of(request).backend, visitor.actor, programme_id, found, row
        )
    except Invalid as invalid:
        refused = form.refused(invalid, [f.name for f in fields])
        return await _row_page(
            request, programme_id, found, visitor, refused, editing=editing, status=422
        )
    outcome = "unchanged" if not saved.changed else "added" if saved.added else "changed"
    return web.redirect(
        f"/programmes/{programme_id}/myrewards?saved={found}:{saved.row.id}:{outcome}"
    )
