"""Programmes: list, create, read, settings, export and import as a file, provenance."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from gateway.admin.api.auth import ActorDep
from gateway.admin.api.models import ChangeResult, DifferenceOut, ExpectedVersion, VersionOut
from gateway.admin.console.state import console_of
from gateway.admin.service import programmes
from gateway.admin.service.errors import Invalid
from gateway.admin.service.snapshots import ProgrammeSettings, parse_yaml, settings_of
from schemas.events import Identifier
from schemas.programme import ProgrammeConfig

router = APIRouter(tags=["programmes"])
FILE_BYTES_MAX = 5 * 1024 * 1024


class ProgrammeSummary(BaseModel):
    programme_id: str
    name: str
    environment: str
    version: int
    updated_at: datetime


class NewProgramme(ProgrammeSettings):
    """A new programme's id and settings; its partners, event types and rules come after."""

    programme_id: Identifier


@router.get("/programmes", response_model=list[ProgrammeSummary])
async def list_programmes(request: Request, actor: ActorDep) -> list[ProgrammeSummary]:
    """The programmes the caller may see."""
    listed = await programmes.visible(console_of(request).backend.pool, actor)
    return [ProgrammeSummary.model_validate(p, from_attributes=True) for p in listed]


@router.post("/programmes", status_code=201, response_model=ProgrammeConfig)
async def create_programme(
    request: Request, actor: ActorDep, body: NewProgramme
) -> ProgrammeConfig:
    """Version 1 of a new programme (owners only)."""
    settings = ProgrammeSettings.model_validate(body.model_dump(exclude={"programme_id"}))
    return await programmes.create(
        console_of(request).backend, actor, body.programme_id, settings, source="api"
    )


@router.get("/programmes/{programme_id}", response_model=ProgrammeConfig)
async def get_programme(request: Request, actor: ActorDep, programme_id: str) -> ProgrammeConfig:
    """The stored snapshot, whole."""
    return await programmes.get(console_of(request).backend.pool, actor, programme_id)


@router.get("/programmes/{programme_id}/settings", response_model=ProgrammeSettings)
async def get_settings(request: Request, actor: ActorDep, programme_id: str) -> ProgrammeSettings:
    config = await programmes.get(console_of(request).backend.pool, actor, programme_id)
    return settings_of(config)


@router.put("/programmes/{programme_id}/settings", response_model=ChangeResult)
async def put_settings(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    body: ProgrammeSettings,
    expected_version: ExpectedVersion = None,
) -> ChangeResult:
    """New settings: a new snapshot, stored, audited and published."""
    committed = await programmes.change_settings(
        console_of(request).backend, actor, programme_id, body,
        source="api", expected_version=expected_version,
    )  # fmt: skip
    return ChangeResult.of(committed)


@router.get(
    "/programmes/{programme_id}/export",
    response_class=PlainTextResponse,
    responses={200: {"content": {"application/yaml": {}}}},
)
async def export_programme(
    request: Request, actor: ActorDep, programme_id: str
) -> PlainTextResponse:
    """The programme as a file that `loyalty-admin load-programme` (or the import) takes back
    with no change."""
    text = await programmes.export(console_of(request).backend.pool, actor, programme_id)
    return PlainTextResponse(text, media_type="application/yaml")


@router.post(
    "/programmes/{programme_id}/import",
    response_model=ChangeResult,
    openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {}}}},
)
async def import_programme(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    x_file_name: Annotated[
        str | None, Header(description="The file's name, kept with the version it makes.")
    ] = None,
) -> ChangeResult:
    """A programme file (YAML or JSON) in the body, loaded as `load-programme` loads it: a
    changed file raises `version`; the stored version again changes nothing."""
    body = await request.body()
    if len(body) > FILE_BYTES_MAX:
        raise Invalid.field("body", f"at most {FILE_BYTES_MAX} bytes")
    config = parse_yaml(body.decode("utf-8", errors="replace"))
    if config.programme_id != programme_id:
        raise Invalid.field("programme_id", f"the file is programme '{config.programme_id}'")
    committed = await programmes.load(
        console_of(request).backend, actor, config, source_file=x_file_name or "admin API upload"
    )
    return ChangeResult.of(committed)


class ProvenanceOut(BaseModel):
    current: VersionOut | None = Field(description="The stored version's origin.")
    last_file: VersionOut | None = Field(description="The last version loaded from a file.")
    file_changed: list[DifferenceOut] = Field(
        description="What the last loaded file changed from the version before it."
    )
    changed_since_file: list[DifferenceOut] = Field(
        description="What changed elsewhere since the last loaded file."
    )


@router.get("/programmes/{programme_id}/provenance", response_model=ProvenanceOut)
async def get_provenance(request: Request, actor: ActorDep, programme_id: str) -> ProvenanceOut:
    """Where the stored snapshot came from: a file (and which) or the console."""
    found = await programmes.provenance(console_of(request).backend.pool, actor, programme_id)
    return ProvenanceOut.model_validate(found, from_attributes=True)
