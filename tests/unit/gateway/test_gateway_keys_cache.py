"""The API-key resolver's cache: one query per key until its entry expires; unknown keys are
cached too; the cache is bounded."""

import asyncio
from typing import Any

import pytest

from gateway.auth import KeyResolver
from gateway.errors import Unauthorized
from gateway.keys import issue


class CountingPool:
    """Answers the key lookup from a dict and counts the queries (a fake of asyncpg's pool)."""

    def __init__(self, known: dict[bytes, dict[str, Any]]) -> None:
        self.known = known
        self.queries = 0

    async def fetchrow(self, _query: str, key_digest: bytes) -> dict[str, Any] | None:
        self.queries += 1
        return self.known.get(key_digest)


async def test_a_key_is_looked_up_once_until_its_entry_expires() -> None:
    key = issue("production")
    pool = CountingPool(
        {key.sha256: {"programme_id": "p", "partner_id": "a", "environment": "production"}}
    )
    resolver = KeyResolver(pool, ttl_s=0.2, max_entries=10)  # type: ignore[arg-type]
    for _ in range(3):
        assert (await resolver.resolve(key.secret)).partner_id == "a"
    assert pool.queries == 1
    await asyncio.sleep(0.25)
    await resolver.resolve(key.secret)
    assert pool.queries == 2


async def test_unknown_keys_are_refused_and_cached_and_the_cache_is_bounded() -> None:
    pool = CountingPool({})
    resolver = KeyResolver(pool, ttl_s=60, max_entries=2)  # type: ignore[arg-type]
    keys = [issue("production").secret for _ in range(3)]
    for key in keys + keys[-1:]:
        with pytest.raises(Unauthorized):
            await resolver.resolve(key)
    assert pool.queries == 3
    with pytest.raises(Unauthorized):
        await resolver.resolve(keys[0])  # evicted: the bound is two entries
    assert pool.queries == 4
