"""The service layer's refusals as the admin API answers them: JSON `{"error": code, "message":
text}` with the status of the refusal's kind; an Invalid change also lists its problems by
field (`fields`) as the console shows them beside the inputs."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway import errors as http_errors
from gateway.admin.service.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)

ANSWERS: tuple[tuple[type[ServiceError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (Forbidden, 403, "forbidden"),
    (Unauthenticated, 401, "unauthorized"),
    (Invalid, 400, "invalid_request"),
    (Conflict, 409, "conflict"),
    (TooManyAttempts, 429, "rate_limit_exceeded"),
    (Unavailable, 503, "unavailable"),
)


async def _refused(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    status, code = next(((s, c) for kind, s, c in ANSWERS if isinstance(exc, kind)), (500, "error"))
    body = http_errors.error_body(code, exc.message)
    headers = {}
    if isinstance(exc, Invalid):
        body |= {"fields": exc.fields, "general": exc.general}
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status, headers=headers)


def install(app: FastAPI) -> None:
    http_errors.install(app)
    app.add_exception_handler(ServiceError, _refused)
