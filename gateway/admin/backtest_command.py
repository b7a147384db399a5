"""`loyalty-admin backtest`: what a candidate configuration would have given over a programme's
archived history, beside what the configuration in force gave (`evidence.backtest`)."""

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from evidence.backtest import BacktestError, Parallel, backtest, count
from evidence.rendering import html_report, print_report
from evidence.report import Report
from evidence.shares import EVENTS_PER_WORKER_MIN, WORKERS_MAX, ShareFailed, workers_for
from gateway.admin import options, programmes
from gateway.admin.help import example
from gateway.admin.options import Programme, Since, Until, load_candidate, window
from gateway.admin.refusals import Refused
from gateway.admin.resources import AdminSettings, database
from schemas.programme import ProgrammeConfig


def register(app: typer.Typer) -> None:
    @app.command(
        "backtest",
        epilog=example(
            "loyalty-admin backtest --programme demo --candidate demo-v8.yaml "
            "--from 2026-05-01 --to 2026-06-01"
        ),
    )
    def backtest_command(
        programme: Programme,
        candidate: Annotated[Path, options.candidate("try")],
        since: Since = None,
        until: Until = None,
        html: Annotated[Path | None, options.html("backtest-P.html")] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                "--workers",
                min=1,
                max=WORKERS_MAX,
                help="Processes replaying, each a share of the users (default: one per CPU, "
                f"one per {EVENTS_PER_WORKER_MIN:,} archived events at most).",
            ),
        ] = None,
    ) -> None:
        """Replay the programme's archived events under the configuration in force when each was
        decided and under the candidate, both from the users' states at `--from`, and report
        the points (total; by rule, tier and event type), the users affected and by how much,
        and the budget used, as tables here and as an HTML file with charts. Says whether the
        configuration in force reproduced the booked totals exactly. Stores nothing."""
        config = load_candidate(candidate)
        report = _run(AdminSettings(), programme, config, *window(since, until), workers)
        show_report(report, html, Path(f"backtest-{programme}.html"))


@contextmanager
def replay_progress(total: int) -> Iterator[Callable[[int], None]]:
    """A bar of the archived events replayed, of `total`, while the replay runs; yields what
    advances it (the rebase's replay shows the same)."""
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("replaying", total=total)
        yield lambda replayed: bar.advance(task, replayed)


def show_report(report: Report, html: Path | None, default: Path) -> None:
    """The report as tables here and as an HTML file, at `--html` or `default` (the shadow
    runs' report is drawn as the backtest's)."""
    print_report(report, Console())
    target = html or default
    target.write_text(html_report(report))
    typer.echo(f"HTML report: {target}")


def _run(
    settings: AdminSettings,
    programme_id: str,
    config: ProgrammeConfig,
    since: datetime | None,
    until: datetime | None,
    workers: int | None,
) -> Report:
    async def work() -> Report:
        async with database(settings.database_url) as pool:
            await programmes.require(pool, programme_id)
            total = await count(pool, programme_id, until)
            wanted = workers_for(total, os.cpu_count()) if workers is None else workers
            parallel = Parallel(settings.database_url, wanted)
            with replay_progress(total) as advance:
                try:
                    return await backtest(
                        pool, programme_id, config, since, until, advance, parallel
                    )
                except (BacktestError, ShareFailed) as exc:
                    raise Refused(str(exc)) from exc

    return asyncio.run(work())
