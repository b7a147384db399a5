"""`bench.lifecycle` at a small size on the real Kafka, Postgres and ledger writer: the expiry run
it times expires every lot it seeded, and both bookings runs drain their topic."""

import argparse

import pytest

from bench.lifecycle import EXPIRY, time_bookings, time_expiry
from deploy.local.settings import LocalSettings

pytestmark = pytest.mark.integration


async def test_the_benchmark_expires_every_lot_and_books_every_command(
    kafka_bootstrap: str, postgres_url: str, local_settings: LocalSettings
) -> None:
    args = argparse.Namespace(
        users=300, lots_per_user=4, warmup_commands=200, measured_commands=1_000,
        batch_max_records=500,
    )  # fmt: skip
    lots, seconds = await time_expiry(local_settings, postgres_url, args)
    assert lots == 1_200
    assert seconds > 0
    assert await time_bookings(local_settings, postgres_url, {"points_expiry": EXPIRY}, args) > 0
