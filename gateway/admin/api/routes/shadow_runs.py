"""A programme's shadow runs: start one with a candidate programme file (YAML), list, stop, and
the report comparing the live decisions with the candidate's over any period of the run (JSON,
or the backtest's HTML report)."""

from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, Field

from evidence.rendering import html_report
from evidence.report import Report, Row
from evidence.shadow.store import Run, Status
from gateway.admin.api.auth import ActorDep
from gateway.admin.console.state import console_of
from gateway.admin.service import shadow_runs
from gateway.admin.service.snapshots import parse_yaml

router = APIRouter(tags=["shadow runs"])
CANDIDATE_CHARS_MAX: Final = 1_000_000


class NewShadowRun(BaseModel):
    candidate: str = Field(
        min_length=1,
        max_length=CANDIDATE_CHARS_MAX,
        description="The candidate programme file (YAML or JSON), validated as a backtest's "
        "candidate is; its programme_id must be the path's.",
    )


class ShadowRunOut(BaseModel):
    run_id: int
    programme_id: str
    candidate_version: int
    status: Status = Field(description="`running` (followed by loyalty-shadow) or `stopped`.")
    started_by: str
    started_at: datetime
    stopped_at: datetime | None
    decisions: int = Field(description="Candidate decisions stored so far (events compared).")
    live_points: int = Field(
        default=0, description="Net points of the shadowed events as decided live."
    )
    candidate_points: int = Field(
        default=0, description="Net points of the shadowed events under the candidate."
    )
    users_affected: int = Field(
        default=0,
        description="Users whose candidate points over the whole run differ from their live ones.",
    )
    followed_at: datetime | None = Field(
        description="When the shadow worker last caught up with the archive (null: not yet)."
    )

    @classmethod
    def of(cls, run: Run) -> "ShadowRunOut":
        return cls(
            run_id=run.run_id, programme_id=run.programme_id,
            candidate_version=run.candidate_version, status=run.status,
            started_by=run.started_by, started_at=run.started_at, stopped_at=run.stopped_at,
            decisions=run.decisions, live_points=run.live_points, candidate_points=run.points,
            users_affected=run.users_affected, followed_at=run.followed_at,
        )  # fmt: skip


class RowOut(BaseModel):
    name: str
    live: int
    candidate: int
    change: int

    @classmethod
    def of(cls, row: Row) -> "RowOut":
        return cls(name=row.name, live=row.current, candidate=row.candidate, change=row.change)


def _rows(found: list[Row]) -> list[RowOut]:
    return [RowOut.of(row) for row in found]


class ReportOut(BaseModel):
    run: ShadowRunOut
    events: int = Field(description="Shadowed events of the period.")
    users: int
    users_affected: int
    mismatches: int = Field(
        description="Events the versions in force, replayed beside the candidate, decided "
        "otherwise than live (0 when the run's states matched the live ones)."
    )
    rejected_live: int = Field(description="Events whose live decision the ledger refused.")
    totals: list[RowOut]
    by_rule: list[RowOut]
    by_tier: list[RowOut]
    by_event_type: list[RowOut]
    top_users: list[RowOut] = Field(description="The users whose points change most.")
    distribution: dict[str, int] = Field(description="Users by per-user change.")
    budgeted_rules: list[RowOut]

    @classmethod
    def of(cls, run: Run, report: Report) -> "ReportOut":
        return cls(
            run=ShadowRunOut.of(run), events=report.events, users=report.users,
            users_affected=len(report.user_changes()), mismatches=report.mismatches,
            rejected_live=report.rejected_live, totals=_rows(report.totals()),
            by_rule=_rows(report.by_rule()), by_tier=_rows(report.by_tier()),
            by_event_type=_rows(report.by_event_type()), top_users=_rows(report.top_users()),
            distribution=dict(report.distribution()), budgeted_rules=_rows(report.budget_rows()),
        )  # fmt: skip


RunId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The shadow run's id.")]
Since = Annotated[AwareDatetime | None, Query(alias="from", description="Events from then.")]
Until = Annotated[
    AwareDatetime | None, Query(alias="to", description="Events before then (exclusive).")
]


@router.post("/programmes/{programme_id}/shadow-runs", status_code=201, response_model=ShadowRunOut)
async def start_run(
    request: Request, actor: ActorDep, programme_id: str, body: NewShadowRun
) -> ShadowRunOut:
    """Shadow the programme's live traffic with the candidate from now on: each event decided
    is decided under the candidate too and stored, never booked. 400 with the file's problems;
    409 when the programme has 5 running runs."""
    candidate = parse_yaml(body.candidate)
    pool = console_of(request).backend.pool
    return ShadowRunOut.of(await shadow_runs.start(pool, actor, programme_id, candidate))


@router.get("/programmes/{programme_id}/shadow-runs", response_model=list[ShadowRunOut])
async def list_runs(request: Request, actor: ActorDep, programme_id: str) -> list[ShadowRunOut]:
    """Newest first (at most 100)."""
    runs = await shadow_runs.listed(console_of(request).backend.pool, actor, programme_id)
    return [ShadowRunOut.of(run) for run in runs]


@router.get("/shadow-runs/{run_id}", response_model=ShadowRunOut)
async def get_run(request: Request, actor: ActorDep, run_id: RunId) -> ShadowRunOut:
    return ShadowRunOut.of(await shadow_runs.get(console_of(request).backend.pool, actor, run_id))


@router.post("/shadow-runs/{run_id}/stop", response_model=ShadowRunOut)
async def stop_run(request: Request, actor: ActorDep, run_id: RunId) -> ShadowRunOut:
    """Events decided from now on are not shadowed; the run's decisions stay for reports."""
    pool = console_of(request).backend.pool
    return ShadowRunOut.of(await shadow_runs.stop(pool, actor, run_id))


@router.get("/shadow-runs/{run_id}/report", response_model=ReportOut)
async def run_report(
    request: Request, actor: ActorDep, run_id: RunId, since: Since = None, until: Until = None
) -> ReportOut:
    """The live decisions beside the candidate's for the shadowed events of [from, to)."""
    pool = console_of(request).backend.pool
    run, report = await shadow_runs.report(pool, actor, run_id, since, until)
    return ReportOut.of(run, report)


@router.get("/shadow-runs/{run_id}/report.html", response_class=HTMLResponse)
async def run_report_html(
    request: Request, actor: ActorDep, run_id: RunId, since: Since = None, until: Until = None
) -> HTMLResponse:
    """The same report as a self-contained HTML page with charts (as `shadow report --html`)."""
    pool = console_of(request).backend.pool
    _, report = await shadow_runs.report(pool, actor, run_id, since, until)
    return HTMLResponse(html_report(report))
