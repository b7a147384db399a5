"""`loyalty-admin`: load programme configuration from YAML/JSON files, publish it, issue keys."""

import argparse
import asyncio
from pathlib import Path

import asyncpg
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.topics import ensure as ensure_topics
from gateway import clients
from gateway.admin import api_keys, importing, programmes
from gateway.kwegg import admin as kwegg_admin
from gateway.myrewards import configuration as myrewards_configuration
from gateway.webhooks import subscriptions
from schemas import topics

DEMO_PROGRAMME = Path(__file__).resolve().parents[2] / "deploy" / "programmes" / "demo.yaml"
# A fixed key so the README's curl examples work against a local system; never in production.
DEMO_KEY_ID = "demo"
DEMO_KEY_SECRET = "local-only-not-a-secret"


class AdminSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    config_topic: str = topics.CONFIG


async def load_programmes(settings: AdminSettings, paths: list[Path]) -> None:
    configs = [programmes.load_file(path) for path in paths]
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        for config in configs:
            changed = await programmes.save(pool, config)
            state = "saved" if changed else "unchanged"
            print(f"{config.programme_id} v{config.version}: {state}")
    # Publishing unchanged snapshots too is harmless (compacted, idempotent for processors) and
    # repairs a topic that lost its records.
    await programmes.publish(settings.kafka_bootstrap_servers, configs, settings.config_topic)


async def republish(settings: AdminSettings) -> None:
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        configs = await programmes.stored_configs(pool)
    await programmes.publish(settings.kafka_bootstrap_servers, configs, settings.config_topic)
    print(f"published {len(configs)} programme snapshot(s)")


async def create_key(settings: AdminSettings, arguments: argparse.Namespace) -> None:
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        key = await api_keys.create(
            pool, arguments.programme, arguments.partner, arguments.environment
        )
    print(key.secret)


async def create_client(settings: AdminSettings, arguments: argparse.Namespace) -> None:
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        await api_keys.require_environment(pool, arguments.programme, arguments.environment)
        secret = await clients.create(
            pool, arguments.client_id, arguments.programme, arguments.environment
        )
    print(f"client id: {arguments.client_id}\nclient secret: {secret}")


async def create_webhook(settings: AdminSettings, arguments: argparse.Namespace) -> None:
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        secret = await subscriptions.create(
            pool, arguments.id, arguments.programme, arguments.url, arguments.events
        )
    print(f"webhook {arguments.id}: signing secret {secret}")


async def load_myrewards(settings: AdminSettings, path: Path) -> None:
    config = myrewards_configuration.load_file(path)
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        await myrewards_configuration.save(pool, config)
    print(f"{config.programme_id}: MyRewards configuration saved")


async def seed_demo(settings: AdminSettings) -> None:
    await load_programmes(settings, [DEMO_PROGRAMME])
    async with asyncpg.create_pool(settings.database_url, min_size=1, max_size=2) as pool:
        key = await api_keys.create(
            pool, "demo", "mgpass-demo", "production", DEMO_KEY_ID, DEMO_KEY_SECRET
        )
    print(f"demo API key: {key.secret}")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="loyalty-admin", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load-programme", help="validate, store and publish snapshots")
    load.add_argument("paths", nargs="+", type=Path)
    commands.add_parser("republish", help="publish every stored snapshot to config.v1 again")
    key = commands.add_parser("create-key", help="issue an API key (printed once)")
    key.add_argument("--programme", required=True)
    key.add_argument("--partner", required=True)
    key.add_argument("--environment", choices=["production", "staging"], default="production")
    topics = commands.add_parser("create-topics", help="create the missing topics")
    topics.add_argument("--partitions", type=int, default=4)
    client = commands.add_parser(
        "create-client", help="register an API client (secret printed once)"
    )
    client.add_argument("--programme", required=True)
    client.add_argument("--client-id", required=True)
    client.add_argument("--environment", choices=["production", "staging"], default="production")
    webhook = commands.add_parser(
        "create-webhook", help="send a programme's outcomes to a URL (secret printed once)"
    )
    webhook.add_argument("--id", required=True, help="the subscription's id")
    webhook.add_argument("--programme", required=True)
    webhook.add_argument("--url", required=True)
    webhook.add_argument(
        "--events", nargs="+", choices=subscriptions.EVENT_TYPES, default=subscriptions.EVENT_TYPES
    )
    myrewards = commands.add_parser(
        "load-myrewards", help="a programme's MyRewards groups, questions and data fields"
    )
    myrewards.add_argument("path", type=Path)
    commands.add_parser("seed-demo", help="the demo programme, partner and a fixed local key")
    kwegg_admin.add_command(commands)
    importing.add_command(commands)
    return root


def main() -> None:
    arguments = parser().parse_args()
    settings = AdminSettings()
    match arguments.command:
        case "load-programme":
            asyncio.run(load_programmes(settings, arguments.paths))
        case "republish":
            asyncio.run(republish(settings))
        case "create-key":
            asyncio.run(create_key(settings, arguments))
        case "create-topics":
            created = asyncio.run(
                ensure_topics(settings.kafka_bootstrap_servers, arguments.partitions)
            )
            print(f"created: {', '.join(created) or 'nothing (all exist)'}")
        case "create-client":
            asyncio.run(create_client(settings, arguments))
        case "create-webhook":
            asyncio.run(create_webhook(settings, arguments))
        case "load-myrewards":
            asyncio.run(load_myrewards(settings, arguments.path))
        case "seed-demo":
            asyncio.run(seed_demo(settings))
        case "create-offer":
            asyncio.run(kwegg_admin.create_offer(settings.database_url, arguments))
        case "import-events":
            url = settings.database_url
            raise SystemExit(
                asyncio.run(importing.run(settings.kafka_bootstrap_servers, url, arguments))
            )


if __name__ == "__main__":
    main()
