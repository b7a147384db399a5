"""What operators watch on the processors: throughput, points, rejections, dead letters, latency."""

from collections import Counter as Tallies
from collections.abc import Collection, Iterable, Iterator

from prometheus_client import Counter, Gauge, Histogram

from processors.handling import DeadLetterReason

# Rule outcomes that mean "this rule would have paid, and a limit stopped it".
REFUSING_OUTCOMES = frozenset({"cut_to_zero", "frequency_limited", "invalid_amount"})

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
    "Times a partition was sought back to its committed offset over a hole",
    ["partition"],
)
EXTERNAL_FAILURES = Counter(
    "loyalty_processor_external_points_failures_total",
    "Programmatic rules whose API failed (the rule's configured points were used)",
    ["rule", "reason"],
)


def rejection_reasons(status: str, rule_outcomes: Iterable[str]) -> Iterator[str]:
    """Why an event paid nothing (or less), from its rules' outcomes: a rule's refusing outcome,
    `invalid` for an invalid event, `no_rule` when no rule of the event type applied."""
    if status == "invalid_event":
        yield "invalid"
        return
    refused = [outcome for outcome in rule_outcomes if outcome in REFUSING_OUTCOMES]
    yield from refused
    if status == "no_points" and not refused:
        yield "no_rule"


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
    validating the event (a lookup of the labelled child under a lock, then a locked add)."""

    __slots__ = ("events", "points", "rejections")

    def __init__(self) -> None:
        self.events: Tallies[tuple[str, str]] = Tallies()
        self.rejections: Tallies[tuple[str, str]] = Tallies()
        self.points: Tallies[tuple[str, str]] = Tallies()

    def decided(self, programme: str, status: str, outcomes: Collection[str]) -> None:
        self.events[programme, status] += 1
        if status == "awarded" and REFUSING_OUTCOMES.isdisjoint(outcomes):
            return  # most events: nothing refused, and no generator to learn it
        for reason in rejection_reasons(status, outcomes):
            self.rejections[programme, reason] += 1

    def earned(self, programme: str, rule_id: str, points: int) -> None:
        self.points[programme, rule_id] += points

    def publish(self) -> None:
        """Adds the tallies to the counters and starts again from nothing."""
        for (programme, status), count in self.events.items():
            EVENTS.labels(programme, status).inc(count)
        for (programme, reason), count in self.rejections.items():
            REJECTIONS.labels(programme, reason).inc(count)
        for (programme, rule_id), points in self.points.items():
            POINTS.labels(programme, rule_id).inc(points)
        self.events.clear()
        self.rejections.clear()
        self.points.clear()
