"""The ledger writer's settings, from `LOYALTY_*` environment variables."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import DEAD_LETTERS, LEDGER_COMMANDS


class LedgerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    metrics_port: int = Field(default=9103, ge=0, le=65535)
    consumer_group: str = "ledger-writer"
    commands_topic: str = LEDGER_COMMANDS
    dead_letters_topic: str = DEAD_LETTERS
    batch_max_records: int = Field(default=2_000, ge=1, le=50_000)
    batch_wait_ms: int = Field(default=50, ge=1, le=10_000)
    fetch_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    batch_attempts_max: int = Field(default=8, ge=1, le=100)
    retry_backoff_s: float = Field(default=0.05, gt=0, le=10)
    # Short enough that a restarted writer is not kept waiting long for its killed predecessor's
    # session to expire (6 s is the broker's default minimum).
    session_timeout_ms: int = Field(default=6_000, ge=1_000, le=300_000)
    heartbeat_interval_ms: int = Field(default=1_000, ge=100, le=60_000)
    database_pool_size: int = Field(default=2, ge=1, le=32)
    # Accounts a lifecycle run (an expiry) takes per transaction: each has its lots due expired
    # in one entry, so a chunk books at most this many entries (ledger.lifecycle).
    lifecycle_chunk_accounts: int = Field(default=2_000, ge=1, le=50_000)
    # How often the programmes' state (outstanding points, budgets, webhook backlog) is read for
    # /metrics (ledger.programme_state): a few bounded queries, on a connection of its own.
    programme_metrics_interval_s: float = Field(default=15.0, ge=0.5, le=3600.0)
    delivery_guarantee: Literal["exactly-once-into-postgres"] = "exactly-once-into-postgres"
