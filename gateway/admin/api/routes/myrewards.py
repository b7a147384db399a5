"""A programme's MyRewards set-up: read it whole; add or change one row of one of its lists
(validated with the whole set-up, as a file load is)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field, JsonValue

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import myrewards
from gateway.myrewards.configuration import MyRewardsConfig

router = APIRouter(tags=["myrewards"])


class SavedRow(BaseModel):
    kind: myrewards.Kind
    row: dict[str, JsonValue]
    added: bool = Field(description="True when the id was new.")
    changed: bool = Field(description="False when the row was stored as it is (nothing saved).")


@router.get("/programmes/{programme_id}/myrewards", response_model=MyRewardsConfig)
async def get_myrewards(request: Request, actor: ActorDep, programme_id: str) -> MyRewardsConfig:
    """The stored set-up in the file's format (docs/myrewards-file.md), every row included."""
    return await myrewards.setup(console_of(request).backend.pool, actor, programme_id)


@router.put("/programmes/{programme_id}/myrewards/{kind}/{row_id}", response_model=SavedRow)
async def put_row(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    kind: myrewards.Kind,
    row_id: int,
    body: Annotated[
        dict[str, Any],
        Body(description="The row's fields as in the file (its id is the path's)."),
    ],
) -> SavedRow:
    """Add the row, or replace the row of that id. 400 with the row's problems by field, or the
    whole set-up's (a SKU twice in a promotion, a parent cycle) under `general`."""
    row = myrewards.parse_row(kind, {**body, "id": row_id})
    saved = await myrewards.put_row(console_of(request).backend, actor, programme_id, kind, row)
    return SavedRow(
        kind=saved.kind, row=saved.row.model_dump(mode="json"), added=saved.added,
        changed=saved.changed,
    )  # fmt: skip
