"""What operators watch on the processors: throughput, points, rejections, dead letters, latency."""

from collections.abc import Collection

from prometheus_client import Counter, Gauge, Histogram

from processors.engine import Decision
from processors.engine.tally import REFUSING_OUTCOMES, DecisionTally, rejection_reasons
from processors.handling import DeadLetterReason

__all__ = ["REFUSING_OUTCOMES", "BatchTally", "rejection_reasons"]

EVENTS = Counter(
    "loyalty_processor_events_total", "Events decided, by outcome", ["programme", "status"]
)
POINTS = Counter(
    "loyalty_processor_points_awarded_total", "Points awarded (earn) by rule", ["programme", "rule"]
)
REJECTIONS = Counter(
    "loyalty_processor_rejections_total",
    "Rules tried that gave nothing, by reason (cap, frequency, no_rule, invalid, ...)",
    ["programme", "reason"],
)
DEAD_LETTERS = Counter(
    "loyalty_processor_dead_letters_total", "Records sent to the dead-letter topic", ["reason"]
)
# Every reason exported at 0 from the start: a series born at 1 shows no increase, so the first
# dead letter of a reason would raise no alert.
for _reason in DeadLetterReason:
    DEAD_LETTERS.labels(_reason)
BATCH_LATENCY = Histogram(
    "loyalty_processor_batch_seconds",
    "Time to decide a batch of events and have Kafka acknowledge its commands",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
BATCH_EVENTS = Histogram(
    "loyalty_processor_batch_events",
    "Events per batch (up to LOYALTY_BATCH_EVENTS_MAX)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
LAG = Gauge(
    "loyalty_processor_consumer_lag_records",
    "Events not yet read from the partition (its end minus this worker's position)",
    ["partition"],
)
# Partitions sought back over a hole (records fetched but never delivered; holes.py): any
# increase means faust dropped records, which were then fetched and decided again. Each
# partition a worker holds is exported at 0 (holes.count_from_zero).
HOLES_MENDED = Counter(
    "loyalty_processor_holes_mended_total",
    "Times a partition was sought back over a hole: to its committed offset, or to the next"
    " offset to decide when later records came first",
    ["partition"],
)
EXTERNAL_FAILURES = Counter(
    "loyalty_processor_external_points_failures_total",
    "Programmatic rules whose API failed (the rule's configured points were used)",
    ["rule", "reason"],
)


PREVIEWS = Counter(
    "loyalty_processor_previews_total",
    "Preview requests answered (decided, refused) or skipped because the requester had stopped "
    "waiting (expired)",
    ["result"],
)
for _result in ("decided", "refused", "expired"):
    PREVIEWS.labels(_result)


class BatchTally:
    """A batch's events, rejections and points, added to the counters once per label set when
    the batch is emitted: `labels(...).inc()` for every event cost the worker as much as
    validating the event (a lookup of the labelled child under a lock, then a locked add). The
    counting itself is compiled (`processors.engine.tally`)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts = DecisionTally()

    @property
    def events(self) -> dict[tuple[str, str], int]:
        return self._counts.events

    @property
    def rejections(self) -> dict[tuple[str, str], int]:
        return self._counts.rejections

    @property
    def points(self) -> dict[tuple[str, str], int]:
        return self._counts.points

    def decision(self, programme: str, decision: Decision) -> None:
        """One decided event (`processors.pipeline`)."""
        self._counts.decision(programme, decision)

    def decided(self, programme: str, status: str, outcomes: Collection[str]) -> None:
        self._counts.decided(programme, status, outcomes)

    def earned(self, programme: str, rule_id: str, points: int) -> None:
        self._counts.earned(programme, rule_id, points)

    def publish(self) -> None:
        """Adds the tallies to the counters and starts again from nothing."""
        counts = self._counts
        for (programme, status), count in counts.events.items():
            EVENTS.labels(programme, status).inc(count)
        for (programme, reason), count in counts.rejections.items():
            REJECTIONS.labels(programme, reason).inc(count)
        for (programme, rule_id), points in counts.points.items():
            POINTS.labels(programme, rule_id).inc(points)
        counts.clear()
