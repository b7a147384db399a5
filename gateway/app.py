"""Builds the FastAPI application; every external resource is opened in its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from gateway import errors, metrics
from gateway.auth import KeyResolver
from gateway.dependencies import Services
from gateway.publisher import EventPublisher
from gateway.routes import events, users
from gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with asyncpg.create_pool(
            settings.database_url, min_size=1, max_size=settings.database_pool_max_size
        ) as pool:
            publisher = EventPublisher(settings.kafka_bootstrap_servers, settings.produce_timeout_s)
            await publisher.start()
            try:
                keys = KeyResolver(
                    pool, settings.api_key_cache_ttl_s, settings.api_key_cache_max_entries
                )
                app.state.services = Services(settings, pool, keys, publisher)
                yield
            finally:
                await publisher.stop()

    app = FastAPI(
        title="Loyalty points engine: partner API",
        version="1",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
    )
    errors.install(app)
    metrics.install(app)
    app.include_router(events.router)
    app.include_router(users.router)
    app.get("/healthz", include_in_schema=False)(_healthy)
    return app


async def _healthy() -> dict[str, str]:
    return {"status": "ok"}
