"""What operators watch on webhook deliveries (served by `loyalty-webhooks` on its own port)."""

from prometheus_client import Counter, Histogram

ATTEMPTS = Counter(
    "loyalty_webhooks_attempts_total",
    "Webhook delivery attempts, by result (delivered, retry, failed)",
    ["result"],
)
# Exported at 0 from the start: a series born at 1 shows no increase, so the first delivery that
# gives up would raise no alert.
for _result in ("delivered", "retry", "failed"):
    ATTEMPTS.labels(_result)
SECONDS = Histogram(
    "loyalty_webhooks_attempt_seconds",
    "Time for one webhook attempt, until the receiver answered or the attempt failed",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CLAIMS_LOST = Counter(
    "loyalty_webhooks_claims_lost_total",
    "Results not recorded because the delivery's lease ran out and another dispatcher took it "
    "(each one a delivery sent twice)",
)
