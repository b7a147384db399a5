"""What operators watch on the processors: throughput, points, rejections, dead letters, latency."""

from prometheus_client import Counter, Histogram

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
    "loyalty_dead_letters_total", "Records sent to the dead-letter topic", ["producer", "reason"]
)
LATENCY = Histogram(
    "loyalty_processor_event_seconds",
    "Time to decide one event and hand its command to the producer",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1),
)
EXTERNAL_FAILURES = Counter(
    "loyalty_processor_external_points_failures_total",
    "Programmatic rules whose API failed (the rule's configured points were used)",
    ["rule", "reason"],
)
