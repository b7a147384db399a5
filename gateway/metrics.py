"""Request rates and latencies by route template and status, served on `/metrics`."""

import time

from fastapi import FastAPI
from prometheus_client import Counter, Histogram, make_asgi_app
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestMetrics:
    """Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task group and a streamed
    response per request): times each request and counts it by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The router records the matched route in the scope it was given.
            route = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(route, scope["method"]).observe(time.perf_counter() - started)
            REQUESTS.labels(route, scope["method"], str(status)).inc()


def install(app: FastAPI) -> None:
    app.add_middleware(RequestMetrics)
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
