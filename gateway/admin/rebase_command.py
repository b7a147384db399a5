"""`loyalty-admin rebase`: books what a candidate configuration would have given over a window of
a programme's history, as corrections (`evidence.rebase`): one ledger command per event and rule
whose points differ, published on the commands topic so the ledger writer books it as every
other booking (variety Adjustment, between the user and the programme's budget).

Refuses, before publishing anything, a plan that would leave a user's balance below zero, unless
`--allow-negative`: its debits are then allowed to take a balance below zero
(`Booking.allow_negative`, the mechanism of a return under `returns.spent_points:
negative_balance`), and the ledger books them; later credits repay the debt first. A plan
applied once with the option and once without is a conflict for the debits it changes (their
payloads differ), refused and reported."""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from evidence.backtest import BacktestError, count
from evidence.rebase import Correction, Plan, command_id_of, command_of, in_booking_order
from evidence.rebasing import balances, plan_rebase
from gateway.admin import options, programmes
from gateway.admin.backtest_command import replay_progress
from gateway.admin.help import example
from gateway.admin.import_rows import Command
from gateway.admin.ledger_link import LedgerLink, ledger_link
from gateway.admin.options import Programme, load_candidate, window
from gateway.admin.refusals import Refused
from gateway.admin.resources import AdminSettings, database
from schemas import topics
from schemas.ledger import CommandOutcome, OutcomeStatus
from schemas.programme import ProgrammeConfig

SHOWN_MAX: Final = 50
"""Corrections listed one by one; the rest are counted."""
OUTCOMES_WAIT_S: Final = 120.0
OUTCOMES_POLL_S: Final = 0.5


def register(app: typer.Typer) -> None:
    @app.command(
        "rebase",
        epilog=example(
            "loyalty-admin rebase --programme demo --candidate demo-v8.yaml "
            "--from 2026-05-01 --to 2026-06-01 --dry-run"
        ),
    )
    def rebase_command(
        programme: Programme,
        candidate: Annotated[Path, options.candidate("apply")],
        since: Annotated[str, options.FROM],
        until: Annotated[str, options.TO],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the plan and book nothing.")
        ] = False,
        allow_negative: Annotated[
            bool,
            typer.Option(
                "--allow-negative",
                help="Publish even if the plan would take a balance below zero: its debits may "
                "then leave a negative balance, which later credits repay first.",
            ),
        ] = False,
    ) -> None:
        """Work out, event by event and rule by rule, the difference between what the journal
        holds for the window's events and what the candidate gives them (replayed as
        `backtest` does), print the plan, then book each difference as a correction of variety
        Adjustment naming the corrected entry and the candidate version. Idempotent: applying
        the same plan again books nothing more."""
        config = load_candidate(candidate)
        start, end = window(since, until)
        if start is None or end is None:  # both options are required
            raise Refused("--from and --to are required")
        settings = AdminSettings()
        asyncio.run(_rebase(settings, programme, config, start, end, dry_run, allow_negative))


async def _rebase(
    settings: AdminSettings,
    programme_id: str,
    config: ProgrammeConfig,
    since: datetime,
    until: datetime,
    dry_run: bool,
    allow_negative: bool,
) -> None:
    console = Console()
    async with database(settings.database_url) as pool:
        await programmes.require(pool, programme_id)
        plan = await _plan(pool, programme_id, config, since, until)
        print_plan(plan, console)
        negative = plan.negative_balances(await balances(pool, plan))
        if negative and not allow_negative:
            users = ", ".join(f"{user} ({balance})" for user, balance in negative.items())
            raise Refused(
                f"the plan would take {len(negative)} balances below zero: {users}; nothing "
                "was booked (--allow-negative to publish it anyway)"
            )
        if dry_run or not plan.corrections:
            typer.echo("Dry run: nothing booked." if dry_run else "Nothing to correct.")
            return
        commands = _commands(plan, allow_negative)
        topic = settings.ledger_commands_topic
        async with ledger_link(
            settings.database_url, settings.kafka_bootstrap_servers, topic
        ) as link:
            await link.publish(commands)
            outcomes = await _outcomes(link, [command.command_id for command in commands])
    _print_outcomes(plan, outcomes, console)


async def _plan(
    pool: asyncpg.Pool,
    programme_id: str,
    config: ProgrammeConfig,
    since: datetime,
    until: datetime,
) -> Plan:
    total = await count(pool, programme_id, until)
    with replay_progress(total) as advance:
        try:
            return await plan_rebase(pool, programme_id, config, since, until, advance)
        except BacktestError as exc:
            raise Refused(str(exc)) from exc


def print_plan(plan: Plan, console: Console) -> None:
    console.print(
        f"Re-base of {plan.programme_id} to version {plan.candidate_version}, events from "
        f"{plan.since.isoformat()} to {plan.until.isoformat()}: {plan.events} booked events "
        f"compared ({plan.refused_live} refused live, not corrected); "
        f"{len(plan.corrections)} corrections, {plan.net_points:+d} points net, "
        f"{len(plan.by_user())} users."
    )
    if not plan.corrections:
        return
    table = Table(title="Corrections (variety Adjustment)")
    for name in ("event", "user", "rule", "corrects entry", "booked", "candidate", "correction"):
        table.add_column(name, justify="right" if name in {"booked", "candidate"} else "left")
    for correction in plan.corrections[:SHOWN_MAX]:
        table.add_row(*_cells(correction))
    console.print(table)
    if len(plan.corrections) > SHOWN_MAX:
        console.print(f"... and {len(plan.corrections) - SHOWN_MAX} more corrections")


def _cells(correction: Correction) -> tuple[str, ...]:
    entry = correction.corrects_entry_id
    return (
        correction.event_id, correction.user_id, correction.rule_id,
        "-" if entry is None else str(entry), str(correction.booked), str(correction.candidate),
        f"{correction.points:+d}",
    )  # fmt: skip


def _commands(plan: Plan, allow_negative: bool) -> list[Command]:
    """Every correction as its ledger command, each user's credits before their debits."""
    commands = []
    for correction in in_booking_order(plan.corrections):
        command = command_of(
            plan.programme_id, plan.candidate_version, correction, allow_negative=allow_negative
        )
        key = topics.user_key(plan.programme_id, correction.user_id)
        commands.append(Command(command.command_id, key, command.model_dump_json().encode()))
    return commands


async def _outcomes(link: LedgerLink, command_ids: list[str]) -> dict[str, CommandOutcome]:
    """The ledger's outcomes of the published corrections, as they come, for a bounded time."""
    deadline = asyncio.get_running_loop().time() + OUTCOMES_WAIT_S
    found: dict[str, CommandOutcome] = {}
    while len(found) < len(command_ids) and asyncio.get_running_loop().time() < deadline:
        missing = [command_id for command_id in command_ids if command_id not in found]
        found.update(await link.outcomes(missing))
        if len(found) < len(command_ids):
            await asyncio.sleep(OUTCOMES_POLL_S)
    return found


def _print_outcomes(plan: Plan, outcomes: dict[str, CommandOutcome], console: Console) -> None:
    booked = rejected = 0
    refusals: list[str] = []
    for correction in plan.corrections:
        command_id = command_id_of(plan.programme_id, plan.candidate_version, correction)
        outcome = outcomes.get(command_id)
        if outcome is None:
            continue
        if outcome.status is OutcomeStatus.REJECTED:
            rejected += 1
            refusals.append(f"  {correction.event_id} {correction.rule_id}: {outcome.reason}")
        else:
            booked += 1
    pending = len(plan.corrections) - booked - rejected
    console.print(
        f"Booked {booked} corrections, {rejected} refused by the ledger, {pending} not booked "
        f"within {OUTCOMES_WAIT_S:.0f} s (running the same re-base again completes them)."
    )
    for line in refusals[:SHOWN_MAX]:
        console.print(line)
    if rejected or pending:
        raise typer.Exit(1)
