"""Errors in Kwegg's envelope: the Kwegg routes use `KweggRoute`, which answers an ApiError or
a request validation failure as `{"success": false, "message", "error", "data": null}` with the
status the rest of the API gives it (400 invalid_request, 401, 402, 403, 404, 409, 429, 503)."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from gateway.errors import DATABASE_UNREACHABLE, ApiError, Unavailable, describe, error_doc
from gateway.kwegg.models import KweggError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error_response(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    body = KweggError(message=message, error=code).model_dump()
    return JSONResponse(body, status, headers=headers or None)


class KweggRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()

        async def enveloped(request: Request) -> Response:
            try:
                return await handle(request)
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message, **(exc.headers or {}))
            except DATABASE_UNREACHABLE:
                message = "the database is unreachable; retry shortly"
                retry_after = str(Unavailable.RETRY_AFTER_S)
                return error_response(
                    503, Unavailable.code, message, **{"Retry-After": retry_after}
                )
            except RequestValidationError as exc:
                message = "; ".join(describe(error) for error in exc.errors())
                return error_response(400, "invalid_request", message)

        return enveloped


AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    400: error_doc(KweggError, "invalid_request: a malformed request"),
    401: error_doc(KweggError, "unauthorized: a missing or unknown License-Key or access token"),
    403: error_doc(
        KweggError, "forbidden: another user's data, or an event type the tenant may not send"
    ),
    503: error_doc(
        KweggError, "unavailable: Kafka or the programme's configuration is not reachable; retry"
    ),
}
