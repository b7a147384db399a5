"""A programme's ledger taken out as CSV: its balances as of an instant and its transactions of
a period (the service layer's `ledger_exports`, as `loyalty-admin export-balances` and
`export-transactions`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import ledger_exports
from gateway.admin.service.ledger_exports import CsvExport

router = APIRouter(tags=["ledger"])
INSTANT = "An RFC 3339 instant with its time zone."
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The CSV file, header first."}
}


@router.get("/programmes/{programme_id}/balances.csv", response_class=StreamingResponse,
            responses=_CSV)  # fmt: skip
async def export_balances(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    as_of: Annotated[
        AwareDatetime | None, Query(description=f"{INSTANT} Not in the future; default now.")
    ] = None,
    include_zero: Annotated[bool, Query(description="List the users at 0 points too.")] = False,
) -> StreamingResponse:
    """Every user's balance as of an instant (`user_id,points`, by user id): the columns
    `loyalty-admin import-balances` reads. Users with no entry by then are left out."""
    export = await ledger_exports.balances(
        console_of(request).backend.pool,
        actor,
        programme_id,
        as_of,
        now=ledger_exports.utc_now(),
        include_zero=include_zero,
    )
    return _streamed(export)


@router.get("/programmes/{programme_id}/transactions.csv", response_class=StreamingResponse,
            responses=_CSV)  # fmt: skip
async def export_transactions(
    request: Request,
    actor: ActorDep,
    programme_id: str,
    start: Annotated[AwareDatetime, Query(alias="from", description=f"Included. {INSTANT}")],
    end: Annotated[AwareDatetime, Query(alias="to", description=f"Excluded. {INSTANT}")],
) -> StreamingResponse:
    """The programme's journal entries recorded in the period, in booking order, every field
    of each (the balance after is its user's, or the budget's for a funding)."""
    export = await ledger_exports.transactions(
        console_of(request).backend.pool, actor, programme_id, start, end
    )
    return _streamed(export)


def _streamed(export: CsvExport) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
    if export.as_of is not None:
        headers["X-As-Of"] = export.as_of.isoformat()
    return StreamingResponse(export.chunks(), media_type="text/csv; charset=utf-8", headers=headers)
