"""The console process's application: the pages at `/`, the admin API at `/admin/api/v1` (its
own OpenAPI document at `/admin/api/v1/openapi.json`), static files, `/metrics` and `/healthz`.
The one place that wires them together; every resource is opened in the lifespan."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.admin.api.app import create_api
from gateway.admin.api.errors import ANSWERS
from gateway.admin.console import metrics, web
from gateway.admin.console.pages import ROUTERS
from gateway.admin.console.sessions import LoginRequired
from gateway.admin.console.settings import ConsoleSettings
from gateway.admin.console.state import Console
from gateway.admin.service.backend import Backend, kafka_snapshots
from gateway.admin.service.dead_letter_feed import DeadLetterFeed, following
from gateway.admin.service.errors import (
    ServiceError,
)
from gateway.admin.service.reconciliation import reconciled
from gateway.admin.service.records import Publishing, kafka_publishing
from gateway.publishing.previews import Previewer

API_PATH = "/admin/api/v1"
# A connection running a ledger check round holds the round's lock (reconciliation.py): the
# server ends it within two minutes of its console's host going silent, not Linux's 2 h 11 min.
KEEPALIVES = {
    "tcp_keepalives_idle": "60",
    "tcp_keepalives_interval": "10",
    "tcp_keepalives_count": "6",
}
STATUS = {kind: status for kind, status, _ in ANSWERS}  # the admin API's, for the pages


def create_app(settings: ConsoleSettings) -> FastAPI:
    api = create_api()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            asyncpg.create_pool(
                settings.database_url,
                min_size=1,
                max_size=settings.database_pool_max_size,
                server_settings=KEEPALIVES,
            ) as pool,
            kafka_snapshots(settings.kafka_bootstrap_servers, settings.config_topic) as publisher,
            _publishing(settings, pool) as publishing,
            following(_feed(settings, pool)),
            reconciled(pool, settings.reconciliation_interval_s),
            previewing(settings) as previews,
        ):
            backend = Backend(pool, publisher, publishing, previews)
            console = Console(settings, backend, settings.login_policy())
            app.state.console = api.state.console = console
            yield

    app = FastAPI(
        title="Loyalty console",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.mount(API_PATH, api)
    app.mount("/static", StaticFiles(directory=web.STATIC), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(ServiceError, _refused_page)
    app.get("/healthz", include_in_schema=False)(_healthy)
    app.add_middleware(PageHeaders)
    metrics.install(app)
    return app


@asynccontextmanager
async def previewing(settings: ConsoleSettings) -> AsyncIterator[Previewer]:
    previewer = Previewer(
        settings.kafka_bootstrap_servers,
        settings.previews_topic,
        settings.preview_replies_topic,
        wait_s=settings.preview_wait_ms / 1000,
    )
    await previewer.start()
    try:
        yield previewer
    finally:
        await previewer.stop()


def _publishing(
    settings: ConsoleSettings, pool: asyncpg.Pool
) -> AbstractAsyncContextManager[Publishing]:
    return kafka_publishing(
        pool,
        settings.database_url,
        settings.kafka_bootstrap_servers,
        events_topic=settings.events_topic,
        commands_topic=settings.ledger_commands_topic,
        wait_s=settings.outcome_wait_ms / 1000,
        timeout_s=settings.produce_timeout_s,
    )


def _feed(settings: ConsoleSettings, pool: asyncpg.Pool) -> DeadLetterFeed | None:
    if not settings.dead_letters_follow:
        return None
    return DeadLetterFeed(pool, settings.kafka_bootstrap_servers, settings.dead_letters_topic)


async def _login_required(request: Request, exc: Exception) -> Response:
    url = web.login_url(request)
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return web.redirect(url)


async def _refused_page(request: Request, exc: Exception) -> Response:
    """What a page cannot do: not found (or not granted), not allowed (a viewer), changed
    meanwhile, or not published."""
    assert isinstance(exc, ServiceError)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 503)
    return web.page(request, "refused.html", {"problem": exc.message, "status": status},
                    status=status)  # fmt: skip


async def _healthy() -> dict[str, str]:
    return {"status": "ok"}


# The console's pages hold configuration and, once, secrets: no cache keeps them, no other site
# frames them, scripts come only from here.
_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; "
        b"form-action 'self'; "
        # htmx gives swapped elements an empty style attribute: that one, and no other.
        b"style-src 'self' 'unsafe-hashes' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    ),
]


class PageHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/static/", "/metrics")):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message["headers"]}
                message["headers"] = [
                    *message["headers"],
                    *(h for h in _HEADERS if h[0] not in names),
                ]
            await send(message)

        await self.app(scope, receive, sending)
