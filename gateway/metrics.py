"""Request rates and latencies by route template and status, served on `/metrics`."""

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import Counter, Histogram, make_asgi_app

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


async def _observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
    REQUESTS.labels(route, request.method, str(response.status_code)).inc()
    return response


def install(app: FastAPI) -> None:
    app.middleware("http")(_observe)
    app.mount("/metrics", make_asgi_app())


OUTCOME_WAIT = Histogram(
    "loyalty_gateway_outcome_wait_seconds",
    "Time a POST spent publishing and waiting for the event's outcome",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)
PENDING_ANSWERS = Counter(
    "loyalty_gateway_pending_answers_total", "POSTs answered 202 pending (outcome not yet known)"
)
