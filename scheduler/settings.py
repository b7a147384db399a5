"""The scheduler's settings, from `LOYALTY_*` environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import EVENTS, LEDGER_COMMANDS


class SchedulerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    metrics_port: int = Field(default=9105, ge=0, le=65535)
    ledger_commands_topic: str = LEDGER_COMMANDS
    # Where the tier reviews go: the processors own the users' tiers.
    events_topic: str = EVENTS
    # How often the programmes are looked at: a day's commands go out at most this long after
    # the programme's local midnight.
    scheduler_tick_s: float = Field(default=30.0, ge=0.1, le=3600.0)
    # Days one programme catches up per round (the rest on the next rounds, in order).
    scheduler_days_per_tick_max: int = Field(default=31, ge=1, le=3660)
    # Programmes looked at per round, in id order (the series on /metrics stay bounded).
    scheduler_programmes_max: int = Field(default=10_000, ge=1, le=1_000_000)
