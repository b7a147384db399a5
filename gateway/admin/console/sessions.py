"""The console's side of a session: the cookie, the CSRF check of every unsafe request, and who
is asking. The session itself is the service layer's (gateway.admin.service.sessions).

Cookies are HttpOnly (no script reads them), SameSite=Lax (no other site's form or fetch
carries them), and Secure when the request came over TLS (or always/never, by setting). Every
form of a session carries its CSRF secret (`csrf_token`); htmx sends it as `X-CSRF-Token`. The
login form, before any session, is protected the same way by a random value in a cookie of its
own that the form must repeat (double submit)."""

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from gateway.admin.console.state import console_of
from gateway.admin.service import sessions
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Forbidden

SESSION_COOKIE = "loyalty_session"
LOGIN_CSRF_COOKIE = "loyalty_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No live session: a page answers with the login page (keeping where the visitor was)."""


class CsrfRefused(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "the form's security token is missing or stale: reload the page and try again"
        )


@dataclass(frozen=True, slots=True)
class Visitor:
    actor: Actor
    csrf_token: str


async def current_visitor(request: Request) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    resumed = await sessions.resume(console_of(request).backend.pool, token)
    if resumed is None:
        return None
    visitor = Visitor(resumed.actor, resumed.csrf_token)
    request.state.visitor = visitor
    return visitor


async def visitor(request: Request) -> Visitor:
    """The logged-in admin of a page; unsafe methods must carry the session's CSRF token."""
    found = await current_visitor(request)
    if found is None:
        raise LoginRequired()
    if request.method not in SAFE_METHODS:
        await require_csrf(request, found.csrf_token)
    return found


async def require_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused()


VisitorDep = Annotated[Visitor, Depends(visitor)]


def secure(request: Request) -> bool:
    setting = console_of(request).settings.secure_cookies
    return setting == "always" or (setting == "auto" and request.url.scheme == "https")


def set_session_cookie(request: Request, response: Response, session: sessions.Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int(console_of(request).policy.session_lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request)
    )


def login_csrf(request: Request) -> str:
    """The login form's token: the one in the visitor's cookie, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def keep_login_csrf(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        response.set_cookie(
            LOGIN_CSRF_COOKIE, token, max_age=3_600, path="/login", httponly=True,
            samesite="lax", secure=secure(request),
        )  # fmt: skip
