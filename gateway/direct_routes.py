"""Routes served straight from their endpoint, ahead of FastAPI's router.

Routing, the two exit stacks and dependency solving of FastAPI cost about as much CPU as all of
`POST /api/partner/events` itself (measured: 110 µs of 165 µs per request in process). A route
whose endpoint takes only the `Request` and returns a `Response` gains nothing from them, so this
middleware calls such an endpoint directly: the same function the router would call, with the same
route in the scope (metrics read its template) and the same exception handlers. Everything else
goes through the router; the OpenAPI document still comes from the route's declaration."""

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from fastapi.routing import APIRoute, APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self._routes: dict[tuple[str, str], APIRoute] = {}
        for route in routes:
            _check_direct(route)
            for method in route.methods or ():
                self._routes[(method, route.path)] = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self._routes.get((scope["method"], scope["path"]))
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route
        request = Request(scope, receive, send)
        response: Response
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = _handler_for(scope, exc)
            if handler is None:
                raise
            answer = handler(request, exc)
            response = await answer if inspect.isawaitable(answer) else answer
        await response(scope, receive, send)


def routes_of(router: APIRouter, endpoints: Sequence[Callable[..., Any]]) -> list[APIRoute]:
    """The router's routes of these endpoints; each endpoint must have one."""
    found = [r for r in router.routes if isinstance(r, APIRoute) and r.endpoint in endpoints]
    if len(found) != len(endpoints):
        raise ValueError(f"{len(endpoints)} endpoints, but {len(found)} routes of them")
    return found


def _check_direct(route: APIRoute) -> None:
    """Only an endpoint that reads the request itself may skip FastAPI's parameter handling."""
    dependant = route.dependant
    declared = (
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
        dependant.body_params,
        dependant.dependencies,
    )
    if any(declared) or dependant.request_param_name is None or "{" in route.path:
        raise ValueError(f"{route.path} declares parameters: it cannot be served directly")


def _handler_for(scope: Scope, exc: Exception) -> Callable[[Request, Exception], Any] | None:
    """The app's handler for `exc`'s class or its nearest base, as Starlette looks it up."""
    handlers: dict[Any, Callable[[Request, Exception], Any]] = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
