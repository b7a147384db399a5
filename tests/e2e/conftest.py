"""The whole system as real processes (gateway, processors, ledger writer) on the real Kafka and
Postgres, under their own names, ports, consumer groups and database, so a system started with
`./dev up` on the same machine is left alone."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local import services
from deploy.local.settings import LocalSettings
from gateway.admin.cli import DEMO_KEY_ID, DEMO_KEY_SECRET, AdminSettings, seed_demo
from gateway.keys import PREFIXES
from tests.conftest import fresh_database

PREFIX = "e2e-"
DATABASE = "loyalty_e2e"
DEMO_API_KEY = f"{PREFIXES['production']}{DEMO_KEY_ID}_{DEMO_KEY_SECRET}"


@pytest.fixture(scope="session")
def system(
    kafka_bootstrap: str, postgres_server: LocalSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalSettings]:
    settings = postgres_server.model_copy(
        update={
            "gateway_port": 18080,
            "processors_metrics_port": 19102,
            "ledger_metrics_port": 19103,
        }
    )
    fresh_database(settings, DATABASE)
    run = uuid.uuid4().hex[:8]
    admin = AdminSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=settings.database_url(DATABASE)
    )
    asyncio.run(seed_demo(admin))
    extra = {
        "LOYALTY_PROCESSORS_APP_ID": f"loyalty-processors-e2e-{run}",
        "LOYALTY_PROCESSORS_DATA_DIR": str(Path(tmp_path_factory.mktemp("processors"))),
        "LOYALTY_CONSUMER_GROUP": f"ledger-writer-e2e-{run}",
    }
    services.start_all(settings, DATABASE, prefix=PREFIX, extra_env=extra)
    try:
        services.wait_for_gateway(settings, prefix=PREFIX)
        yield settings
    finally:
        services.stop_all(prefix=PREFIX)


@pytest.fixture
async def gateway(system: LocalSettings) -> AsyncIterator[httpx.AsyncClient]:
    base_url = f"http://127.0.0.1:{system.gateway_port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        yield client
