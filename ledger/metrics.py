"""Prometheus metrics of the ledger writer (names used by deploy/'s dashboard and alerts)."""

from prometheus_client import Counter, Gauge, Histogram

BATCHES = Counter("loyalty_ledger_batches_total", "Batches committed to Postgres")
BATCH_RECORDS = Histogram(
    "loyalty_ledger_batch_records",
    "Records per committed batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
)
BATCH_LATENCY = Histogram(
    "loyalty_ledger_batch_duration_seconds",
    "From records fetched to transaction committed",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
BATCH_RETRIES = Counter("loyalty_ledger_batch_retries_total", "Batch transactions retried")
COMMANDS = Counter(
    "loyalty_ledger_commands_total",
    "Commands by outcome and rejection reason",
    ["outcome", "reason"],
)
BOOKINGS = Counter("loyalty_ledger_bookings_total", "Journal entries written")
CONFLICTS = Counter(
    "loyalty_ledger_idempotency_conflicts_total", "Keys seen again with a different payload"
)
DEAD_LETTERS = Counter(
    "loyalty_ledger_dead_letters_total", "Records sent to the dead-letter topic", ["reason"]
)
LAG = Gauge(
    "loyalty_ledger_consumer_lag_records", "Records behind the partition's end", ["partition"]
)
