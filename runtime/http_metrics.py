"""Request counts and latencies of an HTTP service, by route template, method and status: a
plain ASGI middleware (Starlette's BaseHTTPMiddleware costs a task group and a streamed response
per request), given the service's own metric families."""

import time

from prometheus_client import Counter, Histogram
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestMetrics:
    """`requests` is labelled (route, method, status), `latency` (route, method)."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

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
            route = route_label(scope)
            self.latency.labels(route, scope["method"]).observe(time.perf_counter() - started)
            self.requests.labels(route, scope["method"], str(status)).inc()


def route_label(scope: Scope) -> str:
    """The matched route's template, whole: a route of a mounted application (the console's
    admin API) is prefixed with its mount's path. The router records the route in the scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    if isinstance(route, Mount):
        return str(path)
    mounted = str(scope.get("root_path", "")).removeprefix(str(scope.get("app_root_path", "")))
    return f"{mounted}{path}"
