"""`loyalty-admin import-balances`, `export-balances`, `export-transactions`: a programme's
balances brought in through the ledger writer, and its balances as of any past instant and its
transactions of a period taken out, as CSV (through the same service layer as the admin API)."""

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer

from gateway.admin import import_balances
from gateway.admin.balances_file import DEFAULT_REASON, REASON_CHARS_MAX
from gateway.admin.booking_import import WAIT_S_DEFAULT
from gateway.admin.help import example
from gateway.admin.options import Programme
from gateway.admin.resources import AdminSettings, database
from gateway.admin.service import ledger_exports
from gateway.admin.service.actors import Actor
from schemas import topics

Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the CSV to this file (default: standard output)."),
]
INSTANT_HELP: Final = "An RFC 3339 instant with its time zone, e.g. 2025-01-01T00:00:00Z."


def register(app: typer.Typer) -> None:
    app.command(
        "import-balances",
        epilog=example(
            "loyalty-admin import-balances balances.csv --programme demo --dry-run",
            "loyalty-admin import-balances balances.csv --programme demo "
            "--reason 'Balance brought from OldEngine'",
        ),
    )(import_balances_command)
    app.command(
        "export-balances",
        epilog=example(
            "loyalty-admin export-balances --programme demo --as-of 2025-01-01T00:00:00Z "
            "-o balances-2024.csv",
        ),
    )(export_balances)
    app.command(
        "export-transactions",
        epilog=example(
            "loyalty-admin export-transactions --programme demo --from 2025-01-01T00:00:00Z "
            "--to 2025-02-01T00:00:00Z -o january.csv",
        ),
    )(export_transactions)


def import_balances_command(
    file: Annotated[
        Path, typer.Argument(help="A CSV file: user_id,points[,expires_on,reason,row_id].")
    ],
    programme: Programme,
    reason: Annotated[
        str, typer.Option("--reason", help="Of the rows that give none (up to 250 characters).")
    ] = DEFAULT_REASON,
    topic: Annotated[
        str, typer.Option("--topic", help="The ledger writer's commands topic.")
    ] = topics.LEDGER_COMMANDS,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file, publish nothing.")
    ] = False,
    wait_s: Annotated[
        float,
        typer.Option(
            "--wait-s", min=1, max=3600, help="Give up when the ledger answers nothing this long."
        ),
    ] = WAIT_S_DEFAULT,
) -> None:
    """Book a CSV of opening balances through the ledger writer: each row a credit (variety
    Adjustment) from the programme's budget, in commands of up to 1,000 rows, and read back.

    Columns (a header line names them): user_id, points (0 or more), and optionally expires_on
    (YYYY-MM-DD), reason, row_id. Refused rows are printed with their line numbers (exit 2);
    the others are booked. Importing the same file again, or a corrected copy, books only what
    is new. The format is in docs/imports-and-exports.md.
    """
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= REASON_CHARS_MAX:
        raise typer.BadParameter(f"1 to {REASON_CHARS_MAX} characters", param_hint="'--reason'")
    status = asyncio.run(
        import_balances.run(
            AdminSettings(),
            file,
            programme,
            topic=topic,
            reason=reason,
            dry_run=dry_run,
            wait_s=wait_s,
        )
    )
    if status:
        raise typer.Exit(status)


def export_balances(
    programme: Programme,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help=f"{INSTANT_HELP} Default: now."),
    ] = None,
    include_zero: Annotated[
        bool, typer.Option("--include-zero", help="List the users at 0 points too.")
    ] = False,
    output: Output = None,
) -> None:
    """Print every user's balance as of an instant as CSV (user_id,points), by user id: what
    import-balances reads. Users with no entry by then are left out."""
    instant = None if as_of is None else _instant("--as-of", as_of)
    asyncio.run(_export_balances(AdminSettings(), programme, instant, include_zero, output))


async def _export_balances(
    settings: AdminSettings,
    programme: str,
    as_of: datetime | None,
    include_zero: bool,
    output: Path | None,
) -> None:
    async with database(settings.database_url) as pool:
        export = await ledger_exports.balances(
            pool, Actor.cli(), programme, as_of, now=datetime.now(UTC), include_zero=include_zero
        )
        await _write(export, output)


def export_transactions(
    programme: Programme,
    start: Annotated[str, typer.Option("--from", help=f"Included. {INSTANT_HELP}")],
    end: Annotated[str, typer.Option("--to", help=f"Excluded. {INSTANT_HELP}")],
    output: Output = None,
) -> None:
    """Print a programme's journal entries recorded in a period as CSV, in booking order: every
    field of each entry, with the balance after it of its user (or of the budget)."""
    period = (_instant("--from", start), _instant("--to", end))
    asyncio.run(_export_transactions(AdminSettings(), programme, *period, output))


async def _export_transactions(
    settings: AdminSettings, programme: str, start: datetime, end: datetime, output: Path | None
) -> None:
    async with database(settings.database_url) as pool:
        export = await ledger_exports.transactions(pool, Actor.cli(), programme, start, end)
        await _write(export, output)


async def _write(export: ledger_exports.CsvExport, output: Path | None) -> None:
    """To standard output, or to `output` through a file beside it renamed at the end: a file
    of that name is always a whole export."""
    if output is None:
        async for text in export.chunks():
            sys.stdout.write(text)
        sys.stdout.flush()
        return
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as file:
            async for text in export.chunks():
                file.write(text)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"{output}: {export.filename}", err=True)


def _instant(option: str, text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise typer.BadParameter(f"{text!r}: {INSTANT_HELP}", param_hint=f"'{option}'")
    return instant
