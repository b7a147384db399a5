"""Settings of the webhooks process (`loyalty-webhooks`); every field can be set as
LOYALTY_<FIELD> in the environment. The retry policy's variables keep the names they had when
the gateway dispatched (`LOYALTY_WEBHOOK_ATTEMPTS_MAX`, ...)."""

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.webhooks.policy import DeliveryPolicy

# What a lease must leave beyond an attempt's timeout: recording the result (one short UPDATE,
# perhaps after waiting for a pool connection). A lease that runs out while its holder still
# works lets another dispatcher send the same delivery again.
LEASE_MARGIN_S = 5.0


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    database_url: str = "postgresql://loyalty@127.0.0.1:5432/loyalty"
    metrics_port: int = Field(default=9104, ge=0, le=65535)
    # Claims and results are short statements, one at a time per connection; LISTEN has a
    # connection of its own beside the pool.
    database_pool_size: int = Field(default=4, ge=1, le=32)
    webhook_poll_s: float = Field(
        default=5.0, gt=0, le=300, description="How often due deliveries are looked for unwoken."
    )
    webhook_batch_max: int = Field(
        default=100, ge=1, le=1_000, description="Posts in flight at most (and claimed at once)."
    )
    webhook_attempts_max: int = Field(default=8, ge=1, le=50)
    webhook_backoff_first_s: float = Field(default=2.0, gt=0)
    webhook_backoff_max_s: float = Field(default=3_600.0, gt=0)
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="The whole of one attempt, connecting included."
    )
    webhook_lease_s: float = Field(
        default=30.0,
        gt=0,
        le=3_600,
        description="How long a claim holds its deliveries: a dead dispatcher's wait that long.",
    )

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Self:
        if self.webhook_lease_s < self.webhook_timeout_s + LEASE_MARGIN_S:
            raise ValueError(
                f"webhook_lease_s ({self.webhook_lease_s:g}) must be at least webhook_timeout_s "
                f"({self.webhook_timeout_s:g}) + {LEASE_MARGIN_S:g} s, or a claim could run out "
                "while its attempt is still being made"
            )
        return self

    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            self.webhook_attempts_max,
            self.webhook_backoff_first_s,
            self.webhook_backoff_max_s,
            self.webhook_timeout_s,
        )
