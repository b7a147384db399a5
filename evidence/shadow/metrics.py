"""Prometheus metrics of the shadow worker (names used by deploy/'s dashboard and alerts)."""

from prometheus_client import Counter, Gauge

DECISIONS = Counter(
    "loyalty_shadow_decisions_total",
    "Candidate decisions stored by shadow runs (a decision stored again after a restart is "
    "not counted)",
    ["programme"],
)
LAG = Gauge(
    "loyalty_shadow_lag_seconds",
    "Seconds since the shadow run last caught up with the archive of decided events",
    ["programme", "run"],
)
RUNS = Gauge("loyalty_shadow_runs_followed", "Running shadow runs the worker follows")
TICKS = Counter("loyalty_shadow_ticks_total", "Rounds over the shadow runs, by result", ["result"])
for _result in ("ok", "failed"):
    TICKS.labels(_result)
