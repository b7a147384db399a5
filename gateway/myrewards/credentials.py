"""MyRewards' `Authorization: Token token=APIKEY` (or `TOKEN token=APIKEY:SECRETKEY`) header.

A MyRewards key is one of the programme's API keys (gateway.keys). Given as `APIKEY:SECRETKEY`,
the key is split in two where its last part starts: `lk_live_<id>:<secret>` is the key
`lk_live_<id>_<secret>`. The value may be quoted (`token="..."`), as Rails' clients send it."""

import re

from gateway.errors import Unauthorized

INVALID_KEY = "invalid key"
_TOKEN = re.compile(r"\s*token\s+token\s*=\s*\"?([^\"\s,]+)\"?\s*$", re.IGNORECASE)
KEY_LENGTH_MAX = 512


def api_key_of(authorization: str | None) -> str:
    """The API key carried by the header; Unauthorized (401 `invalid key`) when malformed."""
    if authorization is None or len(authorization) > KEY_LENGTH_MAX:
        raise Unauthorized(INVALID_KEY)
    matched = _TOKEN.match(authorization)
    if matched is None:
        raise Unauthorized(INVALID_KEY)
    value = matched.group(1)
    key, separator, secret = value.partition(":")
    if not separator:
        return key
    if not key or not secret or ":" in secret:
        raise Unauthorized(INVALID_KEY)
    return f"{key}_{secret}"
