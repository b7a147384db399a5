"""Every error answer is JSON `{"error": <stable code>, "message": <for humans>}`.

ApiError
 ├── Unauthorized        401 unauthorized
 ├── Forbidden           403 forbidden
 ├── NotFound            404 not_found
 ├── Conflict            409 conflict
 │    └── IdempotencyConflict  409 idempotency_conflict (names the original event_id)
 ├── RateLimited         429 rate_limit_exceeded (with Retry-After)
 ├── Rejected            402/406/412/... the ledger's reason code
 └── Unavailable         503 unavailable
Request validation failures become 400 invalid_request."""

from typing import Any

import asyncpg
from asyncpg.exceptions import InternalClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from schemas.ledger import RejectionReason


class ApiError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """`details`: machine-readable fields added to the body beside error and message."""
        super().__init__(message)
        self.message = message
        self.headers = headers
        self.details = details or {}


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class IdempotencyConflict(Conflict):
    """An idempotency key (a partner's `reference_id`) reused with another payload: refused,
    naming the event the key already stands for."""

    code = "idempotency_conflict"

    def __init__(self, reference_id: str, event_id: str) -> None:
        message = (
            f"reference_id {reference_id!r} was already used for event {event_id} with another "
            "payload; a retry must repeat the original request, a new event needs a new "
            "reference_id"
        )
        super().__init__(message, details={"event_id": event_id})


class RateLimited(ApiError):
    status, code = 429, "rate_limit_exceeded"


class Rejected(ApiError):
    """The ledger refused the booking; status and code are its reason's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code

    @classmethod
    def of(cls, reason: RejectionReason | str | None, message: str | None = None) -> "Rejected":
        """The answer to the ledger's `reason` (`invalid_transaction` when it gave none): the
        reason's HTTP status and code, with `message`, or the code when there is none."""
        code = RejectionReason(reason or RejectionReason.INVALID_TRANSACTION)
        return cls(code.http_status, code.value, message or code.value)


class Unavailable(ApiError):
    """A dependency (Kafka, Postgres, the configuration) is not reachable now: retry shortly."""

    status, code = 503, "unavailable"
    RETRY_AFTER_S = 1

    def __init__(self, message: str, retry_after_s: int | None = None) -> None:
        retry_after = self.RETRY_AFTER_S if retry_after_s is None else retry_after_s
        super().__init__(message, headers={"Retry-After": str(retry_after)})


# What asyncpg raises when the database cannot be reached or a connection is lost mid-request.
# Constraint violations and other errors of a request's own are not among them: those are bugs.
DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # A connection whose server died under a query: "cannot switch to state ...; another
    # operation is in progress" (seen when Postgres was killed under load).
    InternalClientError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **details}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body = error_body(exc.code, exc.message, **exc.details)
    return JSONResponse(body, exc.status, headers=exc.headers)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [describe(error) for error in exc.errors()]
    body = error_body("invalid_request", "; ".join(problems), details=problems)
    return JSONResponse(body, 400)


def describe(error: Any) -> str:
    """One validation problem as `<field path>: <message>`."""
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{location or 'body'}: {error.get('msg', 'invalid')}"


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)


async def _database_unreachable(request: Request, exc: Exception) -> JSONResponse:
    # The request may have been published already (a write reached Kafka before a read failed):
    # its outcome is unknown, and the partner's reference makes a retry safe.
    return await _api_error(
        request,
        Unavailable(
            "the database is unreachable; the outcome is unknown: retry shortly, with the same "
            "reference_id if you sent one"
        ),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    for error in DATABASE_UNREACHABLE:
        app.add_exception_handler(error, _database_unreachable)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)


class ErrorBody(BaseModel):
    error: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["user_id: Field required"])
    event_id: str | None = Field(
        default=None, description="idempotency_conflict: the event the reference stands for."
    )


def error_doc(model: type[BaseModel], description: str) -> dict[str, Any]:
    """An error answer in the OpenAPI document: its body's model and what it means."""
    return {"model": model, "description": description}


ERRORS: dict[int | str, dict[str, object]] = {
    400: error_doc(
        ErrorBody,
        "invalid_request: a missing user_id or event_type, a malformed request, or an "
        "occurred_at outside the programme's event-time policy (the message names the bound)",
    ),
    402: error_doc(ErrorBody, "insufficient_points: a redemption the user's balance cannot cover"),
    401: error_doc(ErrorBody, "unauthorized: a missing or unknown API key"),
    403: error_doc(ErrorBody, "forbidden: the event type is not in the partner's allowed list"),
    404: error_doc(ErrorBody, "not_found: unknown here (other programmes' data is invisible)"),
    409: error_doc(
        ErrorBody,
        "conflict: the rule is not active or outside its validity window; or "
        "idempotency_conflict: the reference_id was already used with another payload (the body "
        "names the original `event_id`)",
    ),
    429: error_doc(ErrorBody, "rate_limit_exceeded: too many requests; see Retry-After"),
    503: error_doc(ErrorBody, "unavailable: Kafka or the configuration is not reachable; retry"),
}
