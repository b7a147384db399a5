"""Request rates and latencies by route template and status, served on `/metrics`."""

from fastapi import FastAPI
from prometheus_client import Counter, Histogram, make_asgi_app

from runtime.http_metrics import RequestMetrics

REQUESTS = Counter(
    "loyalty_gateway_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "loyalty_gateway_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
EVENTS_PUBLISHED = Counter(
    "loyalty_gateway_events_published_total", "Events written to events.v1", ["programme"]
)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestMetrics, requests=REQUESTS, latency=LATENCY)
    app.mount("/metrics", make_asgi_app())


OUTCOME_WAIT = Histogram(
    "loyalty_gateway_outcome_wait_seconds",
    "Time a POST spent publishing and waiting for the event's outcome",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
PENDING_ANSWERS = Counter(
    "loyalty_gateway_pending_answers_total", "POSTs answered 202 pending (outcome not yet known)"
)
IDEMPOTENCY_CONFLICTS = Counter(
    "loyalty_gateway_idempotency_conflicts_total",
    "Requests refused 409: an idempotency key (reference_id) reused with another payload",
)
