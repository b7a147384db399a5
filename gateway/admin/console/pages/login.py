"""Logging in and out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.admin.console import metrics, web
from gateway.admin.console.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    VisitorDep,
    clear_session_cookie,
    current_visitor,
    keep_login_csrf,
    login_csrf,
    set_session_cookie,
)
from gateway.admin.console.state import console_of
from gateway.admin.service import sessions
from gateway.admin.service.errors import TooManyAttempts, Unauthenticated

router = APIRouter()


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    if await current_visitor(request) is not None:
        return web.redirect(web.local_path(next))
    return _login_form(request, next, email="")


def _login_form(
    request: Request,
    next_path: str,
    email: str,
    problem: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = login_csrf(request)
    context = {
        "next": web.local_path(next_path),
        "email": email,
        "problem": problem,
        "login_csrf": token,
    }
    page = web.page(request, "login.html", context, status=status, headers=headers)
    keep_login_csrf(request, page, token)
    return page


@router.post("/login")
async def log_in(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or csrf_token != expected:
        problem = "The form's security token was missing or stale; please try again."
        return _login_form(request, next, email, problem, status=403)
    console = console_of(request)
    address = request.client.host if request.client else "unknown"
    try:
        session = await sessions.login(
            console.backend.pool, email, password, address, console.policy
        )
    except TooManyAttempts as exc:
        metrics.LOGINS.labels(sessions.LoginResult.RATE_LIMITED.value).inc()
        headers = {"Retry-After": str(exc.retry_after_s)}
        return _login_form(request, next, email, exc.message.capitalize() + ".", 429, headers)
    except Unauthenticated:
        metrics.LOGINS.labels(sessions.LoginResult.REFUSED.value).inc()
        return _login_form(request, next, email, "Wrong email or password.", status=401)
    metrics.LOGINS.labels(sessions.LoginResult.OK.value).inc()
    response = web.redirect(web.local_path(next))
    set_session_cookie(request, response, session)
    return response


@router.post("/logout")
async def log_out(request: Request, visitor: VisitorDep) -> Response:
    del visitor
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.logout(console_of(request).backend.pool, token)
    response = web.redirect("/login")
    clear_session_cookie(request, response)
    return response
