"""`loyalty-admin`: load programme configuration from YAML/JSON files, publish it, issue keys and
credentials, set a user's tier, import history and balances, export balances and transactions,
and check the ledger.

Every command reads LOYALTY_DATABASE_URL and LOYALTY_KAFKA_BOOTSTRAP_SERVERS (and
LOYALTY_EVENTS_TOPIC for set-tier). Every refusal is one line on stderr and exit status 2
(`gateway.admin.refusals`); `check-ledger` exits 1 when it finds a mismatch.
"""

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from deploy.topics import ensure as ensure_topics
from gateway.admin import (
    access_commands,
    api_keys,
    backtest_command,
    importing,
    kwegg_offers,
    ledger_commands,
    programmes,
    rebase_command,
    refusals,
    shadow_command,
    tiers,
)
from gateway.admin.booking_import import WAIT_S_DEFAULT
from gateway.admin.help import example
from gateway.admin.options import Programme
from gateway.admin.refusals import AdminGroup, about_file
from gateway.admin.resources import AdminSettings, database, kafka
from gateway.admin.service import programmes as service_programmes
from gateway.admin.service.actors import Actor
from gateway.admin.service.backend import Backend, KafkaSnapshots, kafka_snapshots
from gateway.keys import Environment
from gateway.myrewards import configuration as myrewards_configuration
from gateway.triggers import clients
from gateway.webhooks import subscriptions
from ledger.reads import EXAMPLES_DEFAULT, EXAMPLES_MAX, check_ledger
from schemas import topics

__all__ = [
    "DEMO_KEY_ID",
    "DEMO_KEY_SECRET",
    "AdminSettings",
    "app",
    "load_programmes",
    "main",
    "seed_demo",
]

DEMO_PROGRAMME = Path(__file__).resolve().parents[2] / "deploy" / "programmes" / "demo.yaml"
DEMO_MYREWARDS = DEMO_PROGRAMME.parent / "myrewards" / "demo.yaml"
# A fixed key so the README's curl examples work against a local system; never in production.
DEMO_KEY_ID = "demo"
DEMO_KEY_SECRET = "local-only-not-a-secret"

_Result = TypeVar("_Result")


app = typer.Typer(
    name="loyalty-admin",
    cls=AdminGroup,
    help=__doc__,
    epilog=example("loyalty-admin load-programme deploy/programmes/demo.yaml"),
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)

EnvironmentOption = Annotated[
    Environment, typer.Option("--environment", help="Must be the programme's environment.")
]


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="LOYALTY_ADMIN_DEBUG", help="Show a refusal's traceback too."
        ),
    ] = False,
) -> None:
    if debug:
        refusals.debug()


def run(work: Coroutine[Any, Any, _Result]) -> _Result:
    return asyncio.run(work)


async def load_programmes(settings: AdminSettings, paths: list[Path]) -> None:
    """Through the service layer, as the console's imports: each file stored, audited as
    `cli:<os user>` and published; an unchanged file is published again, which is harmless
    (compacted, idempotent for processors) and repairs a topic that lost its records."""
    configs = []
    for path in paths:
        with about_file(path):
            configs.append((path, programmes.load_file(path)))
    async with database(settings.database_url) as pool, snapshots(settings) as publisher:
        backend = Backend(pool, publisher)
        for path, config in configs:
            loaded = await service_programmes.load(
                backend, Actor.cli(), config, source_file=str(path)
            )
            state = "saved" if loaded.changed else "unchanged"
            typer.echo(f"{config.programme_id} v{config.version}: {state}")


@asynccontextmanager
async def snapshots(settings: AdminSettings) -> AsyncIterator[KafkaSnapshots]:
    """The configuration topic's publisher for one command."""
    with kafka(settings.kafka_bootstrap_servers):
        async with kafka_snapshots(settings.kafka_bootstrap_servers, settings.config_topic) as p:
            yield p


async def seed_demo(settings: AdminSettings) -> None:
    await load_programmes(settings, [DEMO_PROGRAMME])
    await _load_myrewards(settings, DEMO_MYREWARDS)
    async with database(settings.database_url) as pool:
        key = await api_keys.create(
            pool, "demo", "mgpass-demo", "production", key_id=DEMO_KEY_ID, secret=DEMO_KEY_SECRET
        )
    typer.echo(f"demo API key: {key.secret}")


@app.command(
    "load-programme",
    epilog=example("loyalty-admin load-programme deploy/programmes/demo.yaml other.yaml"),
)
def load_programme(
    paths: Annotated[list[Path], typer.Argument(help="Programme files, YAML or JSON.")],
) -> None:
    """Validate programme files, store them in Postgres and publish them on config.v1.

    A changed file must raise its `version`; an unchanged one is published again.
    The fields are in docs/programme-file.md.
    """
    run(load_programmes(AdminSettings(), paths))


@app.command(epilog=example("loyalty-admin republish"))
def republish() -> None:
    """Publish every stored programme snapshot on config.v1 again."""
    run(_republish(AdminSettings()))


async def _republish(settings: AdminSettings) -> None:
    async with database(settings.database_url) as pool:
        configs = await programmes.stored_configs(pool)
    with kafka(settings.kafka_bootstrap_servers):
        await programmes.publish(settings.kafka_bootstrap_servers, configs, settings.config_topic)
    typer.echo(f"published {len(configs)} programme snapshot(s)")


@app.command(
    "create-key",
    epilog=example(
        "loyalty-admin create-key --programme demo --partner mgpass-demo --environment staging"
    ),
)
def create_key(
    programme: Programme,
    partner: Annotated[str, typer.Option("--partner", help="A partner of the programme.")],
    environment: EnvironmentOption = "production",
) -> None:
    """Issue a partner's API key; the key is printed once and stored only as its SHA-256."""
    run(_create_key(AdminSettings(), programme, partner, environment))


async def _create_key(
    settings: AdminSettings, programme: str, partner: str, environment: Environment
) -> None:
    async with database(settings.database_url) as pool:
        # The CLI's own refusals first ("load its file first"), as before the service layer.
        await api_keys.require_environment(pool, programme, environment)
        key = await api_keys.create(pool, programme, partner, environment)
    typer.echo(key.secret)


@app.command("create-topics", epilog=example("loyalty-admin create-topics --partitions 8"))
def create_topics(
    partitions: Annotated[
        int, typer.Option("--partitions", min=1, max=1_000, help="Of each keyed topic.")
    ] = 4,
) -> None:
    """Create the topics that do not exist yet (events, ledger commands, dead letters, config)."""
    settings = AdminSettings()
    with kafka(settings.kafka_bootstrap_servers):
        created = run(ensure_topics(settings.kafka_bootstrap_servers, partitions))
    typer.echo(f"created: {', '.join(created) or 'nothing (all exist)'}")


@app.command(
    "create-client",
    epilog=example("loyalty-admin create-client --programme demo --client-id crm"),
)
def create_client(
    programme: Programme,
    client_id: Annotated[str, typer.Option("--client-id", help="The client's id.")],
    environment: EnvironmentOption = "production",
) -> None:
    """Register an API client that triggers API rules; its secret is printed once."""
    run(_create_client(AdminSettings(), programme, client_id, environment))


async def _create_client(
    settings: AdminSettings, programme: str, client_id: str, environment: Environment
) -> None:
    async with database(settings.database_url) as pool:
        await api_keys.require_environment(pool, programme, environment)
        secret = await clients.create(pool, client_id, programme, environment)
    typer.echo(f"client id: {client_id}\nclient secret: {secret}")


@app.command(
    "create-webhook",
    context_settings={"allow_extra_args": True},
    epilog=example(
        "loyalty-admin create-webhook --id crm-hook --programme demo "
        "--url https://crm.example/hooks --events points.awarded points.deducted"
    ),
)
def create_webhook(
    context: typer.Context,
    subscription_id: Annotated[str, typer.Option("--id", help="The subscription's id.")],
    programme: Programme,
    url: Annotated[str, typer.Option("--url", help="Where the deliveries are POSTed.")],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help=f"Outcomes to send, one or more of {', '.join(subscriptions.KNOWN_EVENT_TYPES)}; "
            f"by default {', '.join(subscriptions.EVENT_TYPES)} (the lifecycle's only when named).",
        ),
    ] = None,
) -> None:
    """Send a programme's outcomes to a URL; the signing secret is printed once."""
    wanted = _event_types([*(events or []), *context.args], given=events is not None)
    run(_create_webhook(AdminSettings(), subscription_id, programme, url, wanted))


def _event_types(names: list[str], *, given: bool) -> list[str]:
    """`--events a b c` (the names after the first come as extra arguments) or repeated."""
    if not given:
        if names:
            raise typer.BadParameter(f"unexpected arguments {names}")
        return list(subscriptions.EVENT_TYPES)
    unknown = [name for name in names if name not in subscriptions.KNOWN_EVENT_TYPES]
    if unknown:
        raise typer.BadParameter(
            f"{unknown} are not among {list(subscriptions.KNOWN_EVENT_TYPES)}",
            param_hint="'--events'",
        )
    return names


async def _create_webhook(
    settings: AdminSettings, subscription_id: str, programme: str, url: str, events: list[str]
) -> None:
    async with database(settings.database_url) as pool:
        secret = await subscriptions.create(pool, subscription_id, programme, url, events)
    typer.echo(f"webhook {subscription_id}: signing secret {secret}")


@app.command(
    "load-myrewards",
    epilog=example("loyalty-admin load-myrewards deploy/programmes/myrewards/demo.yaml"),
)
def load_myrewards(
    path: Annotated[Path, typer.Argument(help="The MyRewards file, YAML or JSON.")],
) -> None:
    """Store a programme's MyRewards set-up: identifier, required fields, groups, questions,
    promotions, data fields and products. The fields are in docs/myrewards-file.md."""
    run(_load_myrewards(AdminSettings(), path))


async def _load_myrewards(settings: AdminSettings, path: Path) -> None:
    with about_file(path):
        config = myrewards_configuration.load_file(path)
    async with database(settings.database_url) as pool:
        await programmes.require(pool, config.programme_id)
        await myrewards_configuration.save(pool, config)
    typer.echo(f"{config.programme_id}: MyRewards configuration saved")


@app.command("seed-demo", epilog=example("loyalty-admin seed-demo"))
def seed_demo_command() -> None:
    """Load the demo programme (with its MyRewards set-up) and its fixed local API key (never in
    production)."""
    run(seed_demo(AdminSettings()))


@app.command(
    "set-tier",
    epilog=example(
        "loyalty-admin set-tier --programme demo --user usr_abc123 --tier Silver",
        "loyalty-admin set-tier --programme demo --user usr_abc123 --tier Gold "
        "--reference crm-upgrade-2291",
    ),
)
def set_tier(
    programme: Programme,
    user: Annotated[str, typer.Option("--user", help="The user's id.")],
    tier: Annotated[str, typer.Option("--tier", help="One of the programme's tiers.")],
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Makes the assignment idempotent: the same reference again changes nothing.",
        ),
    ] = None,
) -> None:
    """Set a user's tier: publishes a tier.assigned record on events.v1.

    The user's events published after it earn with the tier's multiplier. Under the
    programme's tier_policy the tier lasts its period_months, then the points decide.
    """
    run(_set_tier(AdminSettings(), programme, user, tier, reference))


async def _set_tier(
    settings: AdminSettings, programme: str, user: str, tier: str, reference: str | None
) -> None:
    async with database(settings.database_url) as pool:
        config = await programmes.stored_config(pool, programme)
    event = tiers.tier_event(config, user, tier, reference, datetime.now(UTC))
    with kafka(settings.kafka_bootstrap_servers):
        await tiers.publish(settings.kafka_bootstrap_servers, settings.events_topic, event)
    typer.echo(f"{event.event_id}: user {event.user_id} of {programme} gets tier {tier}")


@app.command(
    "import-events",
    epilog=example(
        "loyalty-admin import-events history.jsonl --dry-run",
        "loyalty-admin import-events history.jsonl",
        "loyalty-admin import-events ledger-history.jsonl --as-given",
    ),
)
def import_events(
    file: Annotated[Path, typer.Argument(help="One event a line (see gateway.admin.importing).")],
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic",
            help=f"The events topic ({topics.EVENTS}), or with --as-given the ledger's commands "
            f"topic ({topics.LEDGER_COMMANDS}).",
        ),
    ] = None,
    as_given: Annotated[
        bool,
        typer.Option(
            "--as-given",
            help="Book each row's own `points` through the ledger writer instead of having the "
            "rules decide the events (see gateway.admin.given_events).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file, publish nothing.")
    ] = False,
    wait_s: Annotated[
        float,
        typer.Option(
            "--wait-s",
            min=1,
            max=3600,
            help="With --as-given: give up when the ledger answers nothing this long.",
        ),
    ] = WAIT_S_DEFAULT,
) -> None:
    """Import a JSONL file of history: the one way in for events dated outside a programme's
    event-time policy. Decided by the rules (published to events.v1), or with --as-given booked
    with the points each row gives (ledger commands, read back). Refused rows are printed with
    their line numbers (exit 2); importing the same file again books nothing more."""
    settings = AdminSettings()
    chosen = topic or (topics.LEDGER_COMMANDS if as_given else topics.EVENTS)
    status = run(
        importing.run(
            settings.kafka_bootstrap_servers,
            settings.database_url,
            file,
            chosen,
            dry_run,
            as_given=as_given,
            wait_s=wait_s,
        )
    )
    if status:
        raise typer.Exit(status)


@app.command(
    "check-ledger",
    epilog=example("loyalty-admin check-ledger", "loyalty-admin check-ledger --programme demo"),
)
def check_ledger_command(
    programme: Annotated[
        str | None, typer.Option("--programme", help="Only this programme's ledger.")
    ] = None,
    examples: Annotated[
        int,
        typer.Option(
            "--examples", min=0, max=EXAMPLES_MAX, help="Mismatches shown per check (all counted)."
        ),
    ] = EXAMPLES_DEFAULT,
) -> None:
    """Recompute the ledger from its entries and compare: balances, double entry, outcomes
    against entries, and floors. Read-only. Exits 0 when clean, 1 on any mismatch."""
    if not run(_check_ledger(AdminSettings(), programme, examples)):
        raise typer.Exit(1)


async def _check_ledger(settings: AdminSettings, programme: str | None, examples: int) -> bool:
    async with database(settings.database_url) as pool:
        if programme is not None:
            await programmes.require(pool, programme)
        async with pool.acquire() as conn:
            report = await check_ledger(conn, programme, examples_max=examples)
    for line in report.lines():
        typer.echo(line)
    return report.ok


@app.command(
    "export-programme",
    epilog=example("loyalty-admin export-programme demo > demo.yaml"),
)
def export_programme(
    programme: Annotated[str, typer.Argument(help="The programme's id.")],
) -> None:
    """Print the stored programme as a programme file: `load-programme` takes it back with no
    change (edit it, raise `version`, load it)."""
    typer.echo(run(_export_programme(AdminSettings(), programme)), nl=False)


async def _export_programme(settings: AdminSettings, programme: str) -> str:
    async with database(settings.database_url) as pool:
        return await service_programmes.export(pool, Actor.cli(), programme)


kwegg_offers.register(app)
access_commands.register(app)
backtest_command.register(app)
rebase_command.register(app)
shadow_command.register(app)
ledger_commands.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
