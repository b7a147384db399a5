"""Who calls the admin API: an admin API token (`Authorization: Bearer lat_...`), or the
console's session cookie, in which case an unsafe method must carry the session's CSRF token
(`X-CSRF-Token`), as the console's htmx requests do."""

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from gateway.admin.console.sessions import CSRF_HEADER, SAFE_METHODS, current_visitor
from gateway.admin.console.state import console_of
from gateway.admin.service import tokens
from gateway.admin.service.actors import Actor
from gateway.admin.service.errors import Forbidden, Unauthenticated


async def actor(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="`Bearer <admin API token>` (loyalty-admin create-token).")
    ] = None,
) -> Actor:
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <admin API token>`")
        found = await tokens.resolve(console_of(request).backend.pool, token.strip())
        if found is None:
            raise Unauthenticated("unknown or revoked admin API token")
        return found
    visitor = await current_visitor(request)
    if visitor is None:
        raise Unauthenticated("an admin API token (Authorization: Bearer ...) or a console session")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), visitor.csrf_token.encode()):
            raise Forbidden(f"a console session's change needs its {CSRF_HEADER} header")
    return visitor.actor


ActorDep = Annotated[Actor, Depends(actor)]
