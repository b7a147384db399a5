"""Settings of the console process (`loyalty-console`); every field is LOYALTY_<FIELD>."""

from datetime import timedelta
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.admin.service.sessions import LoginPolicy
from schemas import topics


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    console_host: str = "127.0.0.1"
    console_port: int = 8081
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    # The contract's name; tests point the console at their own run's topic, as the services.
    config_topic: str = topics.CONFIG
    # "Try an event" asks the processors as the partner API's previews do.
    previews_topic: str = topics.PREVIEWS
    preview_replies_topic: str = topics.PREVIEW_REPLIES
    preview_wait_ms: int = Field(
        default=2_000, ge=100, le=30_000, description="How long a try waits for the processors."
    )
    backtest_events_max: int = Field(
        default=100_000,
        ge=1,
        le=5_000_000,
        description="At most this many archived events (the window and the history before it) "
        "a backtest page replays per request, in the console's process (about 1 s per 100,000); "
        "larger windows are for `loyalty-admin backtest`.",
    )
    shadow_report_decisions_max: int = Field(
        default=1_000_000,
        ge=1,
        le=10_000_000,
        description="At most this many stored decisions a shadow run's page reads for its report "
        "per request (about a second per 300,000); larger periods are for "
        "`loyalty-admin shadow report`.",
    )
    database_pool_max_size: int = Field(default=5, ge=1, le=100)
    session_lifetime_s: int = Field(
        default=8 * 3_600, ge=60, le=30 * 86_400, description="A login lasts this long."
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="`Secure` cookies: `auto` when the request came over TLS (directly, or "
        "through a proxy among `forwarded_allow_ips` that says so in X-Forwarded-Proto).",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted for X-Forwarded-Proto/For (uvicorn's setting).",
    )
    login_attempts_max: int = Field(
        default=5, ge=1, le=1_000, description="Failed logins of one email per window."
    )
    login_address_attempts_max: int = Field(
        default=50, ge=1, le=100_000, description="Failed logins from one address per window."
    )
    login_window_s: int = Field(default=900, ge=10, le=86_400)
    public_api_url_production: str = Field(
        default="http://127.0.0.1:8080",
        pattern=r"^https?://",
        description="Where third-party developers reach the trigger API of production "
        'programmes ("Share Rule ID" gives it with the rule\'s id).',
    )
    public_api_url_staging: str = Field(
        default="http://127.0.0.1:8080",
        pattern=r"^https?://",
        description="The same for staging programmes.",
    )

    # What the console publishes (users' adjustments and tiers, replayed dead letters) and the
    # dead letters it follows; the contracts' names, tests point it at their run's topics.
    events_topic: str = topics.EVENTS
    ledger_commands_topic: str = topics.LEDGER_COMMANDS
    dead_letters_topic: str = topics.DEAD_LETTERS
    outcome_wait_ms: int = Field(
        default=10_000,
        ge=0,
        le=60_000,
        description="How long an adjustment or a tier waits for its outcome before it is "
        "shown as pending.",
    )
    produce_timeout_s: float = Field(default=10.0, gt=0, le=120)
    dead_letters_follow: bool = Field(
        default=True,
        description="Follow the dead-letter topic into Postgres (the dead letters page).",
    )
    reconciliation_interval_s: float = Field(
        default=3_600.0,
        ge=1.0,
        le=86_400.0,
        description="How often the console checks every programme's ledger as "
        "`loyalty-admin check-ledger` does (a full scan of its entries) and shows the result "
        "on /metrics (loyalty_reconciliation_mismatches; alerts LedgerMismatch and "
        "LedgerCheckStale).",
    )

    def public_api_urls(self) -> dict[str, str]:
        return {
            "production": self.public_api_url_production,
            "staging": self.public_api_url_staging,
        }

    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(
            attempts_max=self.login_attempts_max,
            address_attempts_max=self.login_address_attempts_max,
            window=timedelta(seconds=self.login_window_s),
            session_lifetime=timedelta(seconds=self.session_lifetime_s),
        )
