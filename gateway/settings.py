"""Settings of the gateway process; every field can be set as LOYALTY_<FIELD> in the environment."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import topics


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    database_pool_max_size: int = 10
    api_key_cache_ttl_s: float = 30.0
    api_key_cache_max_entries: int = 10_000
    produce_timeout_s: float = 10.0
    # The contract's name; tests and benchmarks point a gateway at a topic of their own.
    events_topic: str = topics.EVENTS
    outcome_wait_ms: int = Field(
        default=2_000, ge=0, le=30_000, description="How long POST waits for points before 202."
    )
    outcome_waiting_max: int = Field(default=20_000, ge=1)
    config_ready_timeout_s: float = 30.0
