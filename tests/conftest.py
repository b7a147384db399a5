"""Session fixtures for the real servers. Unit tests use none of them, so `pytest tests/unit`
needs no Kafka or Postgres; integration and end-to-end tests start whichever server is not
running yet (through deploy.local, exactly as `./dev up` does) and stop only what they started."""

import os
from collections.abc import Iterator

import pytest

from deploy import db
from deploy.local import kafka, postgres
from deploy.local.settings import LocalSettings
from runtime import native

# Dropped and recreated at every session's start: two sessions at once (say, two developers'
# runs on one machine) each need their own name.
TEST_DATABASE = os.environ.get("LOYALTY_TEST_DATABASE", "loyalty_test")


@pytest.fixture(scope="session")
def local_settings() -> LocalSettings:
    return LocalSettings()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_settings: LocalSettings) -> Iterator[str]:
    started = kafka.start(local_settings)
    kafka.wait_ready(local_settings)
    kafka.create_topics(local_settings)
    yield local_settings.kafka_bootstrap_servers
    if started:
        kafka.stop()


@pytest.fixture(scope="session")
def postgres_server(local_settings: LocalSettings) -> Iterator[LocalSettings]:
    started = postgres.start(local_settings)
    postgres.wait_ready(local_settings)
    yield local_settings
    if started:
        postgres.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: LocalSettings) -> str:
    """A fresh database with every migration applied, shared by the session's tests."""
    return fresh_database(postgres_server, TEST_DATABASE)


def fresh_database(settings: LocalSettings, name: str) -> str:
    postgres.drop_database(settings, name)
    postgres.ensure_database(settings, name)
    url = settings.database_url(name)
    db.migrate(url)
    return url


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test compiled modules older than their sources."""
    stale = native.stale_sources()
    if stale:
        raise pytest.UsageError(
            f"compiled modules older than their sources: {', '.join(stale)}; "
            "run ./dev install (or ./dev test) to build them again"
        )
