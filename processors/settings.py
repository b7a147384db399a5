"""Settings of the processor worker; every field can be set as LOYALTY_<FIELD>."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import topics


class ProcessorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_", frozen=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    processors_app_id: str = "loyalty-processors"
    metrics_port: int = 9102
    processors_data_dir: Path = Path(".local/processors")
    topic_partitions: int = 4
    # The contract's names; benchmarks and tests point a worker at topics of their own.
    events_topic: str = topics.EVENTS
    config_topic: str = topics.CONFIG
    ledger_commands_topic: str = topics.LEDGER_COMMANDS
    dead_letters_topic: str = topics.DEAD_LETTERS
    # Preview requests: as many partitions as the events topic, so faust co-partitions them.
    previews_topic: str = topics.PREVIEWS
    config_ready_timeout_s: float = 60.0
    log_level: str = "info"
    lag_report_interval_s: float = Field(default=10.0, gt=0)
    # How long records may stay acked past an un-acked one before the partition is sought back to
    # its committed offset (holes.py). Acks go in offset order, so a hole is never normal; the wait
    # only keeps a hole faust is about to fill from costing a re-read.
    hole_wait_s: float = Field(default=5.0, gt=0, le=600)
    # How long a rebalance waits for the batch in hand to be in Kafka before the tables are read
    # again (rebalances.py); past it the worker stops rather than risk older states.
    rebalance_wait_s: float = Field(default=60.0, gt=0, le=600)
    # A batch is what the stream holds after `batch_wait_ms`, at most `batch_events_max` events:
    # per-event cost falls with the batch, and the wait bounds the latency it adds. At a few
    # hundred events a second a batch's own cost dominates: 10 ms rather than 5 halves the
    # batches, and the partner API's p99 at 500/s went from a median of 100 ms over four runs
    # to 81 ms over five (`python -m bench.gateway`; noisy: 68 to 173 ms). Under load, batches
    # fill up before the wait ends.
    batch_events_max: int = Field(default=500, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=10, ge=1, le=1_000)
    # The broker answers a fetch when it holds `fetch_min_bytes` or after `fetch_wait_ms`
    # (processors/fetching.py): fewer, fuller fetches, at no cost to records that wait for
    # their batch anyway.
    fetch_wait_ms: int = Field(default=5, ge=0, le=1_500)
    fetch_min_bytes: int = Field(default=1024 * 1024, ge=1)
    # A batch hands all its records (states, commands) to the producer before yielding, so they
    # leave in one request without lingering: with 5 ms, the partner API's p50 at 500/s was
    # 39 ms against 28 to 31 ms without (`python -m bench.gateway`).
    producer_linger_s: float = Field(default=0.0, ge=0, le=1)
    # Commands and states are JSON, which compression shrinks severalfold. zstd (its default
    # level) rather than lz4: aiokafka compresses lz4 at level 9 (LZ4 HC, ≈350 MB/s here against
    # ≈1,400 for zstd, which also compresses more), and a worker took 158-162 µs of CPU per event
    # with lz4, 142 with zstd and 141 uncompressed (`python -m bench.processors`, decision 0025).
    # `LOYALTY_PRODUCER_COMPRESSION=none` sends them uncompressed.
    producer_compression: Literal["lz4", "zstd", "snappy", "gzip"] | None = "zstd"
    # The most bytes of one partition's records in one produce batch (faust's and aiokafka's
    # `max_batch_size`, 16 KiB by default): a batch of 500 events' commands is ≈500 KiB, which
    # 16 KiB cuts into dozens of produce batches. 256 KiB: 172-186 µs of worker CPU per event
    # against 180-196, 65-71 % of faust's floor against 62-66 % (four alternating pairs of
    # `python -m bench.processors`, quiet machine). Below the broker's 1 MiB message limit.
    producer_max_batch_bytes: int = Field(default=262_144, ge=1_024, le=1_000_000)
    # A worker that dies without leaving its group holds its partitions this long.
    session_timeout_s: float = Field(default=30.0, ge=6, le=300)
    external_timeout_s: float = Field(default=2.0, gt=0, le=30)
    external_attempts_max: int = Field(default=3, ge=1, le=10)
    external_backoff_s: float = Field(default=0.2, ge=0, le=10)
    # A preview asks a programmatic rule's API once, and waits at most this long for it (the
    # requester waits 2 s by default for the whole answer).
    preview_external_timeout_s: float = Field(default=1.0, gt=0, le=30)

    @field_validator("producer_compression", mode="before")
    @classmethod
    def _none_is_uncompressed(cls, value: object) -> object:
        # An environment variable cannot hold None: "none" stands for it.
        return None if isinstance(value, str) and value.lower() == "none" else value
