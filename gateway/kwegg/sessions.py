"""A user's session with the Kwegg API apart from HTTP: an access token issued at login, and the
session an `Authorization` header names, through the `AccessTokens` port."""

from datetime import datetime

from gateway.errors import Unauthorized
from gateway.keys import digest
from gateway.kwegg.ports import AccessTokens
from gateway.kwegg.tokens import Session, new_token, token_of


async def issue(
    tokens: AccessTokens,
    session: Session,
    platform: str | None,
    now: datetime,
    tokens_per_user_max: int,
) -> str:
    """A new token for the session (only its digest is stored); the user's expired tokens and
    the oldest live ones beyond `tokens_per_user_max` are dropped."""
    token = new_token()
    await tokens.store(digest(token), session, platform, now, tokens_per_user_max)
    return token


async def session_of(
    tokens: AccessTokens, programme_id: str, authorization: str | None, now: datetime
) -> Session:
    """The session the header's token speaks for in the tenant's programme; 401 for a malformed,
    unknown or expired token, or one of another programme."""
    found = await tokens.session(digest(token_of(authorization)), now)
    if found is None:
        raise Unauthorized("unknown or expired access token; log the user in again")
    if found.programme_id != programme_id:
        raise Unauthorized("the access token was issued for another programme")
    return found
