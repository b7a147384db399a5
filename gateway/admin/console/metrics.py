"""The console's metrics, served on `/metrics`: requests by route and status and their latency
(pages and admin API alike), logins by result; changes by kind are the service layer's
(gateway.admin.service.metrics)."""

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from gateway.admin.service.sessions import LoginResult
from runtime.http_metrics import RequestMetrics

REQUESTS = Counter(
    "loyalty_console_requests_total",
    "Console and admin API requests answered",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "loyalty_console_request_duration_seconds",
    "Time to answer a console or admin API request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LOGINS = Counter("loyalty_console_logins_total", "Console logins by result", ["result"])
for _result in LoginResult:
    LOGINS.labels(_result.value)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestMetrics, requests=REQUESTS, latency=LATENCY)
    app.get("/metrics", include_in_schema=False)(_metrics)


async def _metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
