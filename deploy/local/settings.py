"""Settings of the local runner (`loyalty-local`, `./dev`): ports and sizes of the local servers."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class LocalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_LOCAL_", frozen=True)

    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap_mb: int = 768
    kafka_partitions: int = 4
    kafka_ready_timeout_s: float = 90.0
    postgres_port: int = 5432
    postgres_user: str = "loyalty"
    postgres_database: str = "loyalty"
    postgres_ready_timeout_s: float = 60.0
    gateway_port: int = 8080
    console_port: int = 8081
    processors_metrics_port: int = 9102
    ledger_metrics_port: int = 9103
    webhooks_metrics_port: int = 9104
    scheduler_metrics_port: int = 9105
    shadow_metrics_port: int = 9106
    prometheus_port: int = 9090
    prometheus_retention: str = "15d"
    prometheus_ready_timeout_s: float = 30.0

    @property
    def kafka_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def database_url(self, database: str | None = None) -> str:
        name = database or self.postgres_database
        return f"postgresql://{self.postgres_user}@127.0.0.1:{self.postgres_port}/{name}"
