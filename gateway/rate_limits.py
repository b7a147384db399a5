"""Per-partner publishing rates (mgPass: 30 events a minute unless the partner's config says
otherwise), on a moving one-minute window.

Each gateway instance counts on its own, so N instances behind a balancer allow up to N times the
rate; a shared store (limits' Redis storage) would make it exact at the cost of a round trip."""

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.errors import RateLimited


class PartnerRateLimits:
    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items: dict[int, RateLimitItemPerMinute] = {}

    async def check(self, programme_id: str, partner_id: str, per_minute: int) -> None:
        item = self._items.setdefault(per_minute, RateLimitItemPerMinute(per_minute))
        if await self._limiter.hit(item, programme_id, partner_id):
            return
        stats = await self._limiter.get_window_stats(item, programme_id, partner_id)
        retry_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"more than {per_minute} events a minute; retry in {retry_after_s}s",
            headers={"Retry-After": str(retry_after_s)},
        )
