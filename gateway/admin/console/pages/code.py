"""A programme as code: where its stored snapshot came from (a file, and which, or the console),
what the last loaded file changed, what changed since; exporting it as a file and importing
one, exactly as `loyalty-admin export-programme` and `load-programme` do."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from gateway.admin.console import web
from gateway.admin.console.forms import Form
from gateway.admin.console.sessions import VisitorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Invalid
from gateway.admin.service.snapshots import parse_yaml

router = APIRouter()
FILE_BYTES_MAX = 5 * 1024 * 1024


@router.get("/programmes/{programme_id}/code")
async def code_page(
    request: Request, programme_id: str, visitor: VisitorDep, loaded: int | None = None
) -> Response:
    return await _code_page(request, programme_id, visitor.actor, Form(), loaded=loaded)


async def _code_page(
    request: Request,
    programme_id: str,
    actor: Actor,
    form: Form,
    status: int = 200,
    loaded: int | None = None,
) -> Response:
    pool = console_of(request).backend.pool
    config = await programmes.get(pool, actor, programme_id)
    provenance = await programmes.provenance(pool, actor, programme_id)
    context = {"config": config, "provenance": provenance, "form": form, "tab": "code",
               "loaded": loaded}  # fmt: skip
    return web.page(request, "programme/code.html", context, status=status)


@router.get("/programmes/{programme_id}/export.yaml")
async def export(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    text = await programmes.export(console_of(request).backend.pool, visitor.actor, programme_id)
    disposition = f'attachment; filename="{programme_id}.yaml"'
    return Response(text, media_type="application/yaml",
                    headers={"Content-Disposition": disposition})  # fmt: skip


@router.post("/programmes/{programme_id}/import")
async def import_file(request: Request, programme_id: str, visitor: VisitorDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Invalid.field("file", "choose a programme file (YAML or JSON)")
        content = await upload.read(FILE_BYTES_MAX + 1)
        if len(content) > FILE_BYTES_MAX:
            raise Invalid.field("file", f"at most {FILE_BYTES_MAX // 1024 // 1024} MiB")
        config = parse_yaml(content.decode("utf-8", errors="replace"))
        if config.programme_id != programme_id:
            raise Invalid.field(
                "file", f"the file is programme '{config.programme_id}', not '{programme_id}'"
            )
        committed = await programmes.load(
            console_of(request).backend, visitor.actor, config, source_file=upload.filename
        )
    except Invalid as invalid:
        problems = Invalid({}, [*invalid.general, *_lines(invalid)])
        refused = Form().refused(problems)
        return await _code_page(request, programme_id, visitor.actor, refused, 422)
    loaded = committed.config.version if committed.changed else 0
    return web.redirect(f"/programmes/{programme_id}/code?loaded={loaded}")


def _lines(invalid: Invalid) -> list[str]:
    return [
        f"{name}: {problem}" for name, problems in invalid.fields.items() for problem in problems
    ]
