"""Builds the FastAPI application; every external resource is opened in its lifespan."""

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from gateway import errors, metrics, openapi
from gateway.auth import KeyResolver
from gateway.dependencies import Services, StoredOutcomesOf
from gateway.direct_routes import DirectRoutes, routes_of
from gateway.key_usage import KeyUsage
from gateway.kwegg import routes as kwegg
from gateway.myrewards import routes as myrewards
from gateway.partner import events, users
from gateway.publishing.outcomes import OutcomeNotifications
from gateway.publishing.publisher import Publisher
from gateway.rate_limits import PartnerRateLimits
from gateway.rate_windows import PostgresRateWindows
from gateway.settings import GatewaySettings
from gateway.triggers import routes as triggers
from ledger.reads import get_outcomes
from runtime.config_feed import ProgrammeConfigs, follow

DESCRIPTION = """Partners publish their users' actions with an API key (`X-API-Key`); the engine
matches them to the programme's rules and books the points. Errors are JSON
`{"error": <code>, "message": <text>}`."""
# The hot path: served by its endpoint directly, past FastAPI's router (gateway.direct_routes).
DIRECT_ENDPOINTS = (events.publish_event,)


@asynccontextmanager
async def _services(settings: GatewaySettings) -> AsyncIterator[Services]:
    async with asyncpg.create_pool(
        settings.database_url,
        min_size=1,
        max_size=settings.database_pool_max_size,
        reset=_rollback_only,
    ) as pool:
        publisher = Publisher(
            settings.kafka_bootstrap_servers,
            settings.events_topic,
            settings.ledger_commands_topic,
            settings.produce_timeout_s,
            settings.produce_linger_ms,
        )
        outcomes = OutcomeNotifications(
            settings.database_url,
            settings.outcome_waiting_max,
            functools.partial(get_outcomes, pool),
        )
        catalog = ProgrammeConfigs()
        following = asyncio.create_task(
            follow(catalog, settings.kafka_bootstrap_servers, settings.config_topic)
        )
        usage = KeyUsage()
        recording = asyncio.create_task(usage.run(pool, settings.api_key_usage_flush_s))
        await publisher.start()
        await outcomes.start()
        try:
            async with asyncio.timeout(settings.config_ready_timeout_s):
                await catalog.ready.wait()
            keys = KeyResolver(
                pool, settings.api_key_cache_ttl_s, settings.api_key_cache_max_entries, usage
            )
            yield Services(
                settings,
                pool,
                keys,
                publisher,
                catalog,
                outcomes,
                PartnerRateLimits(PostgresRateWindows(pool, settings.rate_limit_timeout_s)),
                StoredOutcomesOf(pool),
            )
        finally:
            for task in (following, recording):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await outcomes.stop()
            await publisher.stop()


async def _rollback_only(connection: asyncpg.Connection) -> None:
    """Resets a connection returned to the pool. The gateway's queries leave no session state
    (no SET, LISTEN, advisory lock or cursor; LISTEN has a connection of its own), so asyncpg's
    default reset, one more round trip per query, is reduced to ending an open transaction."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _services(settings) as services:
            app.state.services = services
            yield

    app = FastAPI(
        title="Loyalty points engine: partner API",
        description=DESCRIPTION,
        version="1",
        lifespan=lifespan,
        # Metrics are Prometheus' (gateway.metrics); FastAPI's OpenTelemetry hooks would only
        # look for providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    openapi.install(app)
    app.include_router(events.router)
    app.include_router(users.router)
    app.include_router(triggers.router)
    app.include_router(myrewards.router)
    app.include_router(kwegg.router)
    app.get("/healthz", include_in_schema=False)(_healthy)
    app.add_middleware(DirectRoutes, routes=routes_of(events.router, DIRECT_ENDPOINTS))
    metrics.install(app)  # outside DirectRoutes, so that it observes them too
    return app


async def _healthy() -> dict[str, str]:
    return {"status": "ok"}
