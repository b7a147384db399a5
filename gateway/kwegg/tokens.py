"""Access tokens: 256-bit random secrets handed to the tenant once, stored as SHA-256 (like API
keys: no dictionary to attack, so a fast hash is enough), bound to (programme, user) and valid
until their expiry. The tenant sends one back as `Authorization: <accessToken>`; a `Bearer `
prefix is accepted too. Stored by `gateway.kwegg.token_store`, issued and resolved by
`gateway.kwegg.sessions`."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.errors import Unauthorized

TOKEN_PREFIX = "kwt_"
TOKEN_LENGTH_MAX = 128


@dataclass(frozen=True, slots=True)
class Session:
    """Whom an access token speaks for."""

    programme_id: str
    partner_id: str
    user_id: str
    expires_at: datetime


def new_token() -> str:
    return f"{TOKEN_PREFIX}{secrets.token_urlsafe(32)}"


def token_of(authorization: str | None) -> str:
    """The token in an `Authorization` header: as it is, or after `Bearer `."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value.startswith(TOKEN_PREFIX) or len(value) > TOKEN_LENGTH_MAX:
        raise Unauthorized("missing or invalid access token (Authorization)")
    return value


def expiry(now: datetime, ttl_s: int) -> datetime:
    return now + timedelta(seconds=ttl_s)
