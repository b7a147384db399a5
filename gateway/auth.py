"""Resolves the `X-API-Key` header to a Principal, with a small bounded cache in front of Postgres.

A revoked key stops working within `api_key_cache_ttl_s`; that delay buys one database round trip
less on every request. Unknown keys are cached too (as None), so a client retrying a wrong key
costs no query either. Each key's use is noted for its `last_used_at` (gateway.key_usage), in
memory only."""

import asyncpg
from cachetools import TTLCache

from gateway.errors import Unauthorized
from gateway.key_usage import KeyUsage
from gateway.keys import Principal, digest, environment_of

LOOKUP = """
SELECT programme_id, partner_id, environment FROM api_keys
WHERE key_sha256 = $1 AND revoked_at IS NULL
"""


class KeyResolver:
    def __init__(
        self,
        pool: asyncpg.Pool,
        ttl_s: float,
        max_entries: int,
        usage: KeyUsage | None = None,
    ) -> None:
        self._pool = pool
        self._usage = usage
        # Least recently used entries go first once full; each expires `ttl_s` after it was read.
        self._cache: TTLCache[bytes, Principal | None] = TTLCache(max_entries, ttl_s)

    async def resolve(self, api_key: str | None) -> Principal:
        if not api_key or environment_of(api_key) is None:
            raise Unauthorized("missing or invalid API key")
        key_digest = digest(api_key)
        principal = await self._cached(key_digest)
        if principal is None:
            raise Unauthorized("missing or invalid API key")
        if self._usage is not None:
            self._usage.touch(key_digest)
        return principal

    async def _cached(self, key_digest: bytes) -> Principal | None:
        try:
            return self._cache[key_digest]
        except KeyError:
            principal = await self._lookup(key_digest)
            self._cache[key_digest] = principal
            return principal

    async def _lookup(self, key_digest: bytes) -> Principal | None:
        row = await self._pool.fetchrow(LOOKUP, key_digest)
        if row is None:
            return None
        return Principal(row["programme_id"], row["partner_id"], row["environment"])
