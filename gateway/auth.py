"""Resolves the `X-API-Key` header to a Principal, with a small bounded cache in front of Postgres.

A revoked key stops working within `api_key_cache_ttl_s`; that delay buys one database round trip
less on every request."""

import time
from collections import OrderedDict

import asyncpg

from gateway.errors import Unauthorized
from gateway.keys import Principal, digest, environment_of

LOOKUP = """
SELECT programme_id, partner_id, environment FROM api_keys
WHERE key_sha256 = $1 AND revoked_at IS NULL
"""


class KeyResolver:
    def __init__(self, pool: asyncpg.Pool, ttl_s: float, max_entries: int) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._cache: OrderedDict[bytes, tuple[float, Principal | None]] = OrderedDict()

    async def resolve(self, api_key: str | None) -> Principal:
        if not api_key or environment_of(api_key) is None:
            raise Unauthorized("missing or invalid API key")
        key_digest = digest(api_key)
        principal = await self._cached(key_digest)
        if principal is None:
            raise Unauthorized("missing or invalid API key")
        return principal

    async def _cached(self, key_digest: bytes) -> Principal | None:
        now = time.monotonic()
        hit = self._cache.get(key_digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await self._lookup(key_digest)
        self._cache[key_digest] = (now + self._ttl_s, principal)
        self._cache.move_to_end(key_digest)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return principal

    async def _lookup(self, key_digest: bytes) -> Principal | None:
        row = await self._pool.fetchrow(LOOKUP, key_digest)
        if row is None:
            return None
        return Principal(row["programme_id"], row["partner_id"], row["environment"])
