"""When each partner API key was last used (`api_keys.last_used_at`, shown in the console), at a
minute's resolution, written in batches off the request's path.

Resolving a key only notes its digest in memory, at most once per `resolution_s` per key (a
dictionary lookup on the hot path); a background task writes the noted digests in one UPDATE
every `flush_s`. Bounded: at most `pending_max` digests wait for a write (more are dropped until
the next flush, which only delays a `last_used_at`), and the memory of recently noted keys is a
TTL cache of `remembered_max` entries."""

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg
from cachetools import TTLCache

log = logging.getLogger(__name__)

UPDATE = "UPDATE api_keys SET last_used_at = now() WHERE key_sha256 = ANY($1::bytea[])"


class KeyUsage:
    def __init__(
        self,
        resolution_s: float = 60.0,
        pending_max: int = 10_000,
        remembered_max: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._noted: TTLCache[bytes, bool] = TTLCache(remembered_max, resolution_s, timer=clock)
        self._pending: set[bytes] = set()
        self._pending_max = pending_max

    def touch(self, key_digest: bytes) -> None:
        """A request used the key (called on the hot path: no I/O)."""
        if key_digest in self._noted or len(self._pending) >= self._pending_max:
            return
        self._noted[key_digest] = True
        self._pending.add(key_digest)

    def take(self) -> list[bytes]:
        """The digests noted since the last take."""
        taken, self._pending = list(self._pending), set()
        return taken

    async def flush(self, pool: asyncpg.Pool) -> int:
        digests = self.take()
        if digests:
            await pool.execute(UPDATE, digests)
        return len(digests)

    async def run(self, pool: asyncpg.Pool, flush_s: float) -> None:
        """Flush every `flush_s` until cancelled, then once more. A failed write is logged and
        its digests are lost: only the console's "last used" lags."""
        try:
            while True:
                await asyncio.sleep(flush_s)
                await self._flush_logged(pool)
        finally:
            await self._flush_logged(pool)

    async def _flush_logged(self, pool: asyncpg.Pool) -> None:
        try:
            await self.flush(pool)
        except (asyncpg.PostgresError, OSError):
            log.warning("could not record API keys' last use", exc_info=True)
