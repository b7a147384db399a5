"""Prometheus metrics of the scheduler (names used by deploy/'s dashboard and alerts)."""

from prometheus_client import Counter, Gauge

from schemas.ledger import LifecycleAction

TIER_REVIEWS = "review_tier"
"""The action label of the `tier.review` records sent to events.v1, one per user due."""
COMMANDS = Counter(
    "loyalty_scheduler_commands_total",
    "Lifecycle commands sent to ledger-commands.v1 by action, and tier reviews sent to "
    "events.v1 (review_tier, one per user due); a day sent again counts again",
    ["action"],
)
for _action in (*LifecycleAction, TIER_REVIEWS):
    COMMANDS.labels(str(_action))
TICKS = Counter(
    "loyalty_scheduler_ticks_total", "Rounds over the programmes, by result", ["result"]
)
for _result in ("ok", "failed"):
    TICKS.labels(_result)
DAYS_BEHIND = Gauge(
    "loyalty_scheduler_days_behind",
    "Local days of the programme whose commands are not sent yet (0: up to date)",
    ["programme"],
)
LAST_TICK = Gauge(
    "loyalty_scheduler_last_tick_timestamp_seconds", "When the last round that succeeded ended"
)
