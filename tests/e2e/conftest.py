"""The whole system as real processes (gateway, processors, ledger writer, webhooks) on the real
Kafka and Postgres, under their own names, ports, consumer groups and database, so a system
started with `./dev up` on the same machine is left alone."""

import asyncio
import os
import subprocess
import sys
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import asyncpg
import httpx
import pytest

from deploy.kafka_tools import delete_topics_of, run_topics
from deploy.local import services
from deploy.local.settings import LocalSettings
from gateway.admin import api_keys
from gateway.admin.cli import (
    DEMO_KEY_ID,
    DEMO_KEY_SECRET,
    AdminSettings,
    load_programmes,
    seed_demo,
)
from gateway.keys import PREFIXES
from gateway.triggers import clients
from schemas.ledger import Variety
from tests.conftest import fresh_database

# A session named by LOYALTY_TEST_DATABASE (see tests/conftest.py) gets its own database, process
# names and ports, so two sessions on one machine leave each other's system alone.
_SESSION = os.environ.get("LOYALTY_TEST_DATABASE", "")
_OFFSET = zlib.crc32(_SESSION.encode()) % 400 * 10 if _SESSION else 0
PREFIX = f"e2e-{_SESSION}-" if _SESSION else "e2e-"
# Not 19090: with offsets 1,010 apart it would be another session's gateway port.
PROMETHEUS_PORT = 19109 + _OFFSET
DATABASE = f"loyalty_e2e_{_SESSION}" if _SESSION else "loyalty_e2e"
REPO = Path(__file__).resolve().parents[2]
PROGRAMMES = REPO / "tests" / "e2e" / "programmes"
DEMO_API_KEY = f"{PREFIXES['production']}{DEMO_KEY_ID}_{DEMO_KEY_SECRET}"


@dataclass(frozen=True)
class Credentials:
    demo: str
    partner: str
    slow_partner: str
    shared_limit_partner: str
    preview_partner: str
    staging: str
    client_id: str
    client_secret: str
    other_client_id: str
    other_client_secret: str


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str


async def admin_cli(env: dict[str, str], *args: str, timeout_s: float = 180.0) -> Run:
    """`loyalty-admin` in a process of its own, as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.admin.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


@dataclass(frozen=True)
class RunTopics:
    """The session's own events, commands, dead-letter and configuration topics, as the
    services' settings (`LOYALTY_EVENTS_TOPIC`, ...), and the run's id that every topic of the
    run holds."""

    run: str
    settings: dict[str, str]

    @property
    def events(self) -> str:
        return self.settings["LOYALTY_EVENTS_TOPIC"]

    @property
    def dead_letters(self) -> str:
        return self.settings["LOYALTY_DEAD_LETTERS_TOPIC"]

    @property
    def config(self) -> str:
        return self.settings["LOYALTY_CONFIG_TOPIC"]


@pytest.fixture(scope="session")
def session_topics(kafka_bootstrap: str, local_settings: LocalSettings) -> Iterator[RunTopics]:
    run = uuid.uuid4().hex[:8]
    made = run_topics(kafka_bootstrap, local_settings.kafka_partitions, "e2e", run)
    yield RunTopics(run, asyncio.run(made))
    # The run's topics, faust's among them (its app id holds the run's id), once the system
    # that used them has stopped.
    asyncio.run(delete_topics_of(kafka_bootstrap, run))


@pytest.fixture(scope="session")
def system_settings(postgres_server: LocalSettings) -> LocalSettings:
    """The session's ports; a gateway started beside the system's takes `gateway_port + 2`."""
    return postgres_server.model_copy(
        update={
            "gateway_port": 18080 + _OFFSET,
            "console_port": 18081 + _OFFSET,
            "processors_metrics_port": 19102 + _OFFSET,
            "ledger_metrics_port": 19103 + _OFFSET,
            "webhooks_metrics_port": 19104 + _OFFSET,
            "scheduler_metrics_port": 19105 + _OFFSET,
            "shadow_metrics_port": 19106 + _OFFSET,
        }
    )


@pytest.fixture(scope="session")
def service_env(
    system_settings: LocalSettings,
    session_topics: RunTopics,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """What the session's services are told beyond deploy.local's defaults."""
    run = session_topics.run
    return session_topics.settings | {
        "LOYALTY_PROCESSORS_APP_ID": f"loyalty-processors-e2e-{run}",
        "LOYALTY_PROCESSORS_DATA_DIR": str(Path(tmp_path_factory.mktemp("processors"))),
        "LOYALTY_CONSUMER_GROUP": f"ledger-writer-e2e-{run}",
        # Generous, so that a slow CI machine still answers with points, not 202.
        "LOYALTY_OUTCOME_WAIT_MS": "15000",
        # The programmes' state on /metrics within a second (tests/e2e/test_dashboard.py).
        "LOYALTY_PROGRAMME_METRICS_INTERVAL_S": "1",
        # The console's ledger check every 15 s (tests/e2e/test_dashboard.py; a round reads
        # every programme's entries, so not much more often on a shared machine).
        "LOYALTY_RECONCILIATION_INTERVAL_S": "15",
        # Keys' last use in the console within a second (tests/e2e/console).
        "LOYALTY_API_KEY_USAGE_FLUSH_S": "1",
        # A preview limit a test reaches quickly (tests/e2e/test_previews.py).
        "LOYALTY_PREVIEW_RATE_LIMIT_PER_MINUTE": "20",
        # The processors answer previews slowly while a CI machine is busy.
        "LOYALTY_PREVIEW_WAIT_MS": "10000",
        # The scheduler's rounds every second: a programme's day goes out within one.
        "LOYALTY_SCHEDULER_TICK_S": "1",
        # Shadow runs follow the archive twice a second (tests/e2e/test_shadow_runs.py).
        "LOYALTY_SHADOW_TICK_S": "0.5",
        # A console backtest bound the page's test passes with a window and not without one
        # (tests/e2e/console/test_backtest_page.py publishes 12 events).
        "LOYALTY_BACKTEST_EVENTS_MAX": "8",
        # The same for a shadow run's report (tests/e2e/console/test_shadow_runs_page.py
        # shadows 12 events).
        "LOYALTY_SHADOW_REPORT_DECISIONS_MAX": "8",
        # "Share Rule ID" gives this session's gateway (tests/e2e/console/test_rules.py).
        "LOYALTY_PUBLIC_API_URL_PRODUCTION": f"http://127.0.0.1:{system_settings.gateway_port}",
    }


@pytest.fixture(scope="session")
def system(
    kafka_bootstrap: str,
    system_settings: LocalSettings,
    session_topics: RunTopics,
    service_env: dict[str, str],
) -> Iterator[tuple[LocalSettings, Credentials]]:
    settings = system_settings
    fresh_database(settings, DATABASE)
    admin = AdminSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=settings.database_url(DATABASE),
        config_topic=session_topics.config,
    )
    credentials = asyncio.run(configure(admin))
    services.start_all(settings, DATABASE, prefix=PREFIX, extra_env=service_env)
    try:
        services.wait_for_gateway(settings, prefix=PREFIX)
        services.wait_for_console(settings, prefix=PREFIX)
        yield settings, credentials
    finally:
        services.stop_all(prefix=PREFIX)


async def configure(admin: AdminSettings) -> Credentials:
    await seed_demo(admin)
    await load_programmes(admin, sorted(PROGRAMMES.glob("*.yaml")))
    async with asyncpg.create_pool(admin.database_url, min_size=1, max_size=2) as pool:
        partner = await api_keys.create(pool, "e2e", "e2e-partner", "production")
        slow = await api_keys.create(pool, "e2e", "slow-partner", "production")
        shared = await api_keys.create(pool, "e2e", "shared-limit-partner", "production")
        previews = await api_keys.create(pool, "e2e", "preview-partner", "production")
        staging = await api_keys.create(pool, "e2e-staging", "e2e-partner", "staging")
        client_secret = await clients.create(pool, "e2e-client", "e2e", "production")
        other_secret = await clients.create(pool, "other-client", "e2e", "production")
    return Credentials(
        demo=DEMO_API_KEY,
        partner=partner.secret,
        slow_partner=slow.secret,
        shared_limit_partner=shared.secret,
        preview_partner=previews.secret,
        staging=staging.secret,
        client_id="e2e-client",
        client_secret=client_secret,
        other_client_id="other-client",
        other_client_secret=other_secret,
    )


@pytest.fixture(scope="session")
def credentials(system: tuple[LocalSettings, Credentials]) -> Credentials:
    return system[1]


@pytest.fixture
async def gateway(system: tuple[LocalSettings, Credentials]) -> AsyncIterator[httpx.AsyncClient]:
    base_url = f"http://127.0.0.1:{system[0].gateway_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        yield client


def new_user() -> str:
    return f"usr_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def pool(system: tuple[LocalSettings, Credentials]) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the system's database, for a test's own reads."""
    async with asyncpg.create_pool(
        system[0].database_url(DATABASE), min_size=1, max_size=2
    ) as created:
        yield created


async def entries_of(
    pool: asyncpg.Pool,
    programme: str,
    user_id: str,
    variety: Variety,
    key: Literal["command_id", "idempotency_key"] = "command_id",
) -> list[tuple[str, int]]:
    """(key, points) of a user's entries of one variety, in booking order: keyed by the command
    that booked them (an expiry's run) or by their own key (a release's names its award)."""
    rows = await pool.fetch(
        f"""SELECT {key}, points FROM ledger.entries
            WHERE programme_id = $1 AND user_id = $2 AND variety = $3
            ORDER BY entry_id""",
        programme,
        user_id,
        str(variety),
    )
    return [(row[0], row[1]) for row in rows]


def scheduler_command(
    system: tuple[LocalSettings, Credentials], topics: RunTopics, programme: str, through: date
) -> tuple[list[str], dict[str, str]]:
    """`loyalty-scheduler emit` of `programme`'s days up to `through` (ahead of today: the
    tests drive time by the scheduler's day), on the run's topics: its argv and environment."""
    settings = system[0]
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "LOYALTY_DATABASE_URL": settings.database_url(DATABASE),
        "LOYALTY_LEDGER_COMMANDS_TOPIC": topics.settings["LOYALTY_LEDGER_COMMANDS_TOPIC"],
        "LOYALTY_EVENTS_TOPIC": topics.events,
    }
    arguments = ["emit", "--programme", programme, "--through", through.isoformat()]
    return [sys.executable, "-m", "scheduler", *arguments, "--allow-future"], env


def scheduler_emit(
    system: tuple[LocalSettings, Credentials], topics: RunTopics, programme: str, through: date
) -> subprocess.CompletedProcess[str]:
    """Run `scheduler_command` to its end."""
    argv, env = scheduler_command(system, topics, programme, through)
    return subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
