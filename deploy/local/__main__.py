"""`loyalty-local up|down|status`: the whole system on this machine, on local defaults (with a
Prometheus scraping it)."""

import argparse
import asyncio

from deploy import db
from deploy.local import kafka, postgres, processes, prometheus, services
from deploy.local.settings import LocalSettings
from gateway.admin.cli import AdminSettings, seed_demo


def infra(settings: LocalSettings) -> None:
    """Kafka and Postgres only: what tests and benchmarks share while developing."""
    kafka.start(settings)
    postgres.start(settings)
    print(f"postgres ready in {postgres.wait_ready(settings):.1f}s")
    print(f"kafka {kafka.pinned_version()} ready in {kafka.wait_ready(settings):.1f}s")
    kafka.create_topics(settings)


def up(settings: LocalSettings) -> None:
    infra(settings)
    postgres.ensure_database(settings, settings.postgres_database)
    print(f"migrations applied: {db.migrate(settings.database_url())}")
    admin = AdminSettings(
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        database_url=settings.database_url(),
    )
    asyncio.run(seed_demo(admin))
    started = services.start_all(settings)
    print(f"started: {', '.join(started) or 'nothing (all running)'}")
    print(f"gateway answering in {services.wait_for_gateway(settings):.1f}s")
    print(
        f"console answering in {services.wait_for_console(settings):.1f}s: "
        f"http://127.0.0.1:{settings.console_port}/ (loyalty-admin create-admin to log in)"
    )
    prometheus.start(settings)
    print(f"prometheus ready in {prometheus.wait_ready(settings):.1f}s: {prometheus.url(settings)}")
    status()


def down() -> None:
    prometheus.stop()
    services.stop_all()
    kafka.stop()
    postgres.stop()
    status()


def status() -> None:
    for name in (*services.SERVICES, prometheus.NAME, kafka.NAME, postgres.NAME):
        pid = processes.running_pid(name)
        print(f"{name:<11} {'running, pid ' + str(pid) if pid else 'stopped'}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-local", description=__doc__)
    parser.add_argument("command", choices=["up", "infra", "down", "status"])
    command = parser.parse_args().command
    settings = LocalSettings()
    if command == "up":
        up(settings)
    elif command == "infra":
        infra(settings)
        status()
    elif command == "down":
        down()
    else:
        status()


if __name__ == "__main__":
    main()
