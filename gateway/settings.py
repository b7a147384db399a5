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
    # How long an idle keep-alive connection stays open. Longer than a client's own idle expiry
    # (httpx: 5 s) and a load balancer's idle timeout (commonly 60 s), so the client closes
    # first: with uvicorn's 5 s, a request sent on a connection as the server closed it got no
    # answer (a ReadError), which a partner cannot tell from a lost request.
    gateway_keep_alive_s: int = Field(default=65, ge=1, le=3_600)
    database_pool_max_size: int = 10
    api_key_cache_ttl_s: float = 30.0
    api_key_cache_max_entries: int = 10_000
    # How often the keys used since are written to `api_keys.last_used_at` (gateway.key_usage).
    api_key_usage_flush_s: float = Field(default=10.0, gt=0, le=3_600)
    produce_timeout_s: float = 10.0
    # How long a partner's request waits for a reservation of its rate window in Postgres
    # (gateway.rate_windows) before it is answered 503 unavailable.
    rate_limit_timeout_s: float = Field(default=2.0, gt=0, le=30)
    # A request waits for its event's acknowledgement, so a linger is latency: at 500 events/s
    # 0 ms rather than 2 took 2 ms off the answer's p50 (`python -m bench.gateway`), for about
    # 2 % of a core more in Kafka. An instance that answers 202 at once (outcome_wait_ms=0)
    # accepted 5-8 % more events a second with 2 ms (3,861-3,878 against 4,058-4,185).
    produce_linger_ms: int = Field(default=0, ge=0, le=1_000)
    # The contract's name; tests and benchmarks point a gateway at a topic of their own.
    events_topic: str = topics.EVENTS
    config_topic: str = topics.CONFIG
    outcome_wait_ms: int = Field(
        default=2_000, ge=0, le=30_000, description="How long POST waits for points before 202."
    )
    outcome_waiting_max: int = Field(default=20_000, ge=1)
    # Previews (POST /api/partner/events/preview): asked of the processors on previews.v1,
    # answered on preview-replies.v1; tests point a gateway at topics of their own.
    previews_topic: str = topics.PREVIEWS
    preview_replies_topic: str = topics.PREVIEW_REPLIES
    preview_wait_ms: int = Field(
        default=2_000, ge=100, le=30_000, description="How long a preview waits before 503."
    )
    preview_waiting_max: int = Field(default=1_000, ge=1, le=100_000)
    preview_rate_limit_per_minute: int = Field(
        default=60,
        ge=1,
        le=1_000_000,
        description="Previews a partner may ask per minute (per instance), apart from publishing.",
    )
    config_ready_timeout_s: float = 30.0
    # Ledger commands the gateway publishes itself (no rule decides them: Kwegg offer
    # redemptions, MyRewards transactions); tests and benchmarks use topics of their own.
    ledger_commands_topic: str = topics.LEDGER_COMMANDS
    kwegg_token_ttl_s: int = Field(
        default=86_400, ge=60, le=30 * 86_400, description="How long a Kwegg access token is valid."
    )
    kwegg_tokens_per_user_max: int = Field(
        default=20, ge=1, le=1_000, description="Live Kwegg access tokens kept per user."
    )
