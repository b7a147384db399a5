"""`loyalty-admin shadow start|stop|list|report`: a candidate configuration run beside the live
one on live traffic, its decisions computed by `loyalty-shadow` and stored, never booked, and
reported on over any period as a backtest is (`gateway.admin.service.shadow_runs`)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from evidence.shadow.store import Run
from gateway.admin import options
from gateway.admin.backtest_command import show_report
from gateway.admin.help import example
from gateway.admin.options import Programme, Since, Until, load_candidate, window
from gateway.admin.resources import AdminSettings, database
from gateway.admin.service import shadow_runs
from gateway.admin.service.actors import Actor

_Result = TypeVar("_Result")
RunId = Annotated[int, typer.Option("--run", help="The shadow run's id (shadow list).")]

shadow = typer.Typer(
    help="Shadow runs: a candidate configuration decided beside the live one, never booked.",
    epilog=example(
        "loyalty-admin shadow start --programme demo --candidate demo-v8.yaml",
        "loyalty-admin shadow report --run 3 --from 2026-05-01",
    ),
    no_args_is_help=True,
)


def _with_pool(work: Callable[[asyncpg.Pool], Awaitable[_Result]]) -> _Result:
    async def run() -> _Result:
        async with database(AdminSettings().database_url) as pool:
            return await work(pool)

    return asyncio.run(run())


def _described(run: Run) -> str:
    stopped = "" if run.stopped_at is None else f", stopped {run.stopped_at.isoformat()}"
    followed = "never" if run.followed_at is None else run.followed_at.isoformat()
    return (
        f"shadow run {run.run_id} of {run.programme_id}: candidate version "
        f"{run.candidate_version}, {run.status}, started {run.started_at.isoformat()} by "
        f"{run.started_by}{stopped}; {run.decisions} decisions, last caught up {followed}"
    )


@shadow.command(
    "start",
    epilog=example("loyalty-admin shadow start --programme demo --candidate demo-v8.yaml"),
)
def start_command(
    programme: Programme,
    candidate: Annotated[Path, options.candidate("shadow")],
) -> None:
    """Start shadowing the programme's live traffic with the candidate: every event decided
    from now on is decided under the candidate too (from the users' states as they are now)
    by `loyalty-shadow`, and stored; nothing of it is booked."""
    config = load_candidate(candidate)
    run = _with_pool(lambda pool: shadow_runs.start(pool, Actor.cli(), programme, config))
    typer.echo(f"started {_described(run)}")


@shadow.command("stop", epilog=example("loyalty-admin shadow stop --run 3"))
def stop_command(run_id: RunId) -> None:
    """Stop the run: events decided from now on are not shadowed; its decisions stay."""
    run = _with_pool(lambda pool: shadow_runs.stop(pool, Actor.cli(), run_id))
    typer.echo(_described(run))


@shadow.command("list", epilog=example("loyalty-admin shadow list --programme demo"))
def list_command(programme: Programme) -> None:
    """The programme's shadow runs, newest first, with their sums over the whole run."""
    runs = _with_pool(lambda pool: shadow_runs.listed(pool, Actor.cli(), programme))
    if not runs:
        typer.echo(f"programme {programme} has no shadow runs")
        return
    table = Table(title=f"Shadow runs of {programme}")
    for column in ("run", "candidate version", "status", "started", "stopped", "decisions",
                   "live points", "candidate points", "users affected", "caught up"):  # fmt: skip
        table.add_column(column)
    for run in runs:
        table.add_row(
            str(run.run_id), str(run.candidate_version), run.status, run.started_at.isoformat(),
            "" if run.stopped_at is None else run.stopped_at.isoformat(), str(run.decisions),
            str(run.live_points), str(run.points), str(run.users_affected),
            "" if run.followed_at is None else run.followed_at.isoformat(),
        )  # fmt: skip
    Console(width=160).print(table)


@shadow.command(
    "report",
    epilog=example("loyalty-admin shadow report --run 3 --from 2026-05-01 --to 2026-06-01"),
)
def report_command(
    run_id: RunId,
    since: Since = None,
    until: Until = None,
    html: Annotated[Path | None, options.html("shadow-RUN.html")] = None,
) -> None:
    """The live decisions beside the candidate's over the events of the period that the run
    shadowed: points (total; by rule, tier and event type), users affected and by how much,
    budgeted rules, as tables here and as an HTML file with charts."""
    period = window(since, until)
    _, report = _with_pool(lambda pool: shadow_runs.report(pool, Actor.cli(), run_id, *period))
    show_report(report, html, Path(f"shadow-{run_id}.html"))


def register(app: typer.Typer) -> None:
    app.add_typer(shadow, name="shadow")
