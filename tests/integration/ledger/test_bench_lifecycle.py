"""`bench.lifecycle` at a small size on the real Kafka, Postgres and ledger writer: the expiry run
it times expires every lot it seeded, and both bookings runs drain their topic. In a database
of its own: the benchmark seeds lots straight into accounts, with no journal behind them, which
the ledger check of the shared test database would rightly refuse."""

import argparse
from collections.abc import Iterator

import pytest

from bench.lifecycle import EXPIRY, time_bookings, time_expiry
from deploy.local import postgres
from deploy.local.settings import LocalSettings
from tests.conftest import TEST_DATABASE, fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture
def bench_url(postgres_server: LocalSettings) -> Iterator[str]:
    name = f"{TEST_DATABASE}_bench"
    yield fresh_database(postgres_server, name)
    postgres.drop_database(postgres_server, name)


async def test_the_benchmark_expires_every_lot_and_books_every_command(
    kafka_bootstrap: str, bench_url: str, local_settings: LocalSettings
) -> None:
    args = argparse.Namespace(
        users=300, lots_per_user=4, warmup_commands=200, measured_commands=1_000,
        batch_max_records=500,
    )  # fmt: skip
    lots, seconds = await time_expiry(local_settings, bench_url, args)
    assert lots == 1_200
    assert seconds > 0
    assert await time_bookings(local_settings, bench_url, {"points_expiry": EXPIRY}, args) > 0
