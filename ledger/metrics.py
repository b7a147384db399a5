"""Prometheus metrics of the ledger writer (names used by deploy/'s dashboard and alerts)."""

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from ledger.programme_state import StateReading
from schemas.ledger import DeadLetterReason

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
POINTS = Counter(
    "loyalty_ledger_points_total",
    "Points booked, by programme and flow (issued, deducted, redeemed, refunded, expired, "
    "transferred, reversed: see ledger/point_flows.py)",
    ["programme", "flow"],
)
LIFECYCLE_CHUNKS = Counter(
    "loyalty_ledger_lifecycle_chunks_total",
    "Transactions of lifecycle runs (expiries) that booked entries, by action",
    ["action"],
)
LOTS_EXPIRED = Counter(
    "loyalty_ledger_lots_expired_total",
    "Lots expired (a user's points of one expiry date), by programme",
    ["programme"],
)
CONFLICTS = Counter(
    "loyalty_ledger_idempotency_conflicts_total", "Keys seen again with a different payload"
)
DEAD_LETTERS = Counter(
    "loyalty_ledger_dead_letters_total", "Records sent to the dead-letter topic", ["reason"]
)
# Every reason exported at 0 from the start: a series born at 1 shows no increase, so the first
# dead letter of a reason would raise no alert.
for _reason in DeadLetterReason:
    DEAD_LETTERS.labels(_reason)
LAG = Gauge(
    "loyalty_ledger_consumer_lag_records", "Records behind the partition's end", ["partition"]
)
PROGRAMME_STATE_FAILURES = Counter(
    "loyalty_ledger_programme_state_failures_total",
    "Readings of the programmes' state (outstanding points, budgets, webhook backlog) that "
    "failed; until the next one succeeds those series are absent",
)


class ProgrammeStateCollector:
    """Serves the last reading of `ledger.programme_state` at every scrape (a reading's
    programmes come and go with it, which a labelled Gauge would keep for ever)."""

    def __init__(self) -> None:
        self._reading: StateReading | None = None

    def publish(self, reading: StateReading | None) -> None:
        if reading is None:
            PROGRAMME_STATE_FAILURES.inc()
        self._reading = reading

    def collect(self) -> Iterator[Metric]:
        reading = self._reading  # one reference read: the refresh replaces it whole
        programmes = [] if reading is None else reading.programmes
        outstanding = _gauge(
            "loyalty_ledger_outstanding_points",
            "Points in the programme's users' accounts: its liability",
        )
        pending = _gauge(
            "loyalty_ledger_pending_points",
            "Points in the programme's pending account (awards not yet available)",
        )
        budget = _gauge(
            "loyalty_ledger_budget_remaining_points",
            "Points left in a funded programme's budget (unfunded programmes have no such limit)",
        )
        backlog = _gauge(
            "loyalty_webhook_backlog_deliveries",
            "Webhook deliveries waiting for a first or a further attempt",
        )
        oldest = _gauge(
            "loyalty_webhook_backlog_oldest_seconds",
            "Age of the oldest webhook delivery still waiting (0 when none waits)",
        )
        for state in programmes:
            labels = [state.programme_id]
            outstanding.add_metric(labels, state.outstanding_points)
            pending.add_metric(labels, state.pending_points)
            if state.budget_remaining_points is not None:
                budget.add_metric(labels, state.budget_remaining_points)
            backlog.add_metric(labels, state.webhook_backlog_deliveries)
            oldest.add_metric(labels, state.webhook_backlog_oldest_s)
        rules = GaugeMetricFamily(
            "loyalty_ledger_rule_budget_remaining_points",
            "Points a rule with a budget (budget_max) may still award, over all users",
            labels=["programme", "rule"],
        )
        for rule in [] if reading is None else reading.rule_budgets:
            rules.add_metric([rule.programme_id, rule.rule_id], rule.remaining_points)
        yield from (outstanding, pending, budget, rules, backlog, oldest)


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=["programme"])


PROGRAMME_STATE = ProgrammeStateCollector()
REGISTRY.register(PROGRAMME_STATE)
