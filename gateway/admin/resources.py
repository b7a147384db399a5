"""What `loyalty-admin` connects to: its settings, the database and Kafka, whose connection
failures become one refusal that names the server (never the URL's password)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit

import asyncpg
from aiokafka.errors import KafkaConnectionError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.admin.refusals import Refused
from schemas import topics

CONNECT_TIMEOUT_S = 10.0

# What asyncpg raises when no session can be had: the server is down or elsewhere, refuses the
# role, or the database does not exist.
_CONNECT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidPasswordError,
)


class AdminSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    config_topic: str = topics.CONFIG
    # The contract's name; tests point `set-tier` at their own run's topic, as the services.
    events_topic: str = topics.EVENTS
    # Where `rebase` publishes its corrections for the ledger writer.
    ledger_commands_topic: str = topics.LEDGER_COMMANDS


class Unreachable(Refused):
    """The database or Kafka cannot be reached."""


@asynccontextmanager
async def database(url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool (the commands run a few statements each)."""
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=CONNECT_TIMEOUT_S)
    except _CONNECT_ERRORS as exc:
        raise Unreachable(f"database {server_of(url)} unreachable: {_reason(exc)}") from exc
    async with pool:
        yield pool


@contextmanager
def kafka(bootstrap_servers: str) -> Iterator[None]:
    """Around the work that starts a Kafka client (a producer or an admin client)."""
    try:
        yield
    except KafkaConnectionError as exc:
        raise Unreachable(f"Kafka at {bootstrap_servers} unreachable") from exc


def server_of(url: str) -> str:
    """host:port/database of a database URL, never its user or password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT_S:g} s"
    return str(exc) or type(exc).__name__
