"""Routes served past the router answer as the router would: same endpoint, same error handling,
same route in the scope."""

from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Header, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import errors
from gateway.direct_routes import DirectRoutes, routes_of
from gateway.errors import Unauthorized

router = APIRouter(prefix="/api")
seen_routes: list[str] = []


@router.post("/direct")
async def direct(request: Request) -> Response:
    if request.headers.get("x-key") != "yes":
        raise Unauthorized("no key")
    return Response(b'{"ok": true}', 201, media_type="application/json")


@router.get("/routed")
async def routed() -> dict[str, bool]:
    return {"routed": True}


@router.get("/with-header")
async def with_header(x_key: Annotated[str | None, Header()] = None) -> dict[str, str | None]:
    return {"key": x_key}


def record_route(app: ASGIApp) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        seen_routes.append(getattr(scope.get("route"), "path", "unmatched"))

    return recording


def build() -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(router)
    app.add_middleware(DirectRoutes, routes=routes_of(router, [direct]))
    app.add_middleware(record_route)
    return app


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_a_direct_route_answers_from_its_endpoint_with_its_route_in_the_scope() -> None:
    seen_routes.clear()
    response = await call("POST", "/api/direct", headers={"x-key": "yes"})
    assert (response.status_code, response.json()) == (201, {"ok": True})
    assert seen_routes == ["/api/direct"]


async def test_its_errors_go_through_the_apps_handlers() -> None:
    response = await call("POST", "/api/direct")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "no key"}


async def test_other_routes_and_methods_go_through_the_router() -> None:
    assert (await call("GET", "/api/routed")).json() == {"routed": True}
    assert (await call("GET", "/api/direct")).status_code == 405


def test_an_endpoint_with_declared_parameters_cannot_be_direct() -> None:
    with pytest.raises(ValueError, match="declares parameters"):
        DirectRoutes(build(), routes_of(router, [with_header]))


def test_every_endpoint_named_must_have_a_route() -> None:
    async def nowhere(request: Request) -> Response:
        return Response()

    with pytest.raises(ValueError, match="routes of them"):
        routes_of(router, [direct, nowhere])
