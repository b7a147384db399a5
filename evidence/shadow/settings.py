"""The shadow worker's settings, from `LOYALTY_*` environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ShadowSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    metrics_port: int = Field(default=9106, ge=0, le=65535)
    # How often the archive is looked at: a decision is shadowed about this long after it
    # was archived (plus the time the oldest running transaction holds the horizon back).
    shadow_tick_s: float = Field(default=2.0, ge=0.1, le=3600.0)
    # Archived events read, decided and stored together (one read chunk, one insert).
    shadow_chunk_rows: int = Field(default=5_000, ge=1, le=100_000)
    # Running shadow runs followed (the oldest first); each keeps two user states per user
    # of its programme in memory.
    shadow_runs_max: int = Field(default=20, ge=1, le=1_000)
    # Decisions one run stores: the worker stops a run that reaches it (its table stays).
    shadow_decisions_max: int = Field(default=10_000_000, ge=1, le=1_000_000_000)
