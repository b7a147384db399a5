"""Per-partner preview rates (`POST /api/partner/events/preview`,
LOYALTY_PREVIEW_RATE_LIMIT_PER_MINUTE), apart from publishing's, on a moving one-minute window,
counted by each gateway instance on its own: a preview stores nothing, so N instances allowing up
to N times the rate costs the processors some reads, never a point (publishing's limit is shared,
`gateway.rate_limits`).

Each partner's window is a ring of the times of its last `per_minute` accepted previews: a new
one is accepted when the oldest of them is more than a minute old, and otherwise answered 429
with the time until it is."""

import math
import time
from array import array
from collections.abc import Callable

from gateway.errors import RateLimited

WINDOW_S = 60.0


class MovingWindow:
    """The last `limit` acceptance times, oldest at `_next` once the ring is full."""

    __slots__ = ("_next", "_times", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least one event, not {limit}")
        self.limit = limit
        self._times = array("d")
        self._next = 0

    def hit(self, now: float) -> float:
        """Records an acceptance at `now` and returns 0, or returns the seconds to wait."""
        if len(self._times) < self.limit:
            self._times.append(now)
            return 0.0
        oldest = self._times[self._next]
        if now - oldest < WINDOW_S:
            return oldest + WINDOW_S - now
        self._times[self._next] = now
        self._next = (self._next + 1) % self.limit
        return 0.0


class PreviewRateLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], MovingWindow] = {}

    def check(self, programme_id: str, partner_id: str, per_minute: int) -> None:
        key = (programme_id, partner_id)
        window = self._windows.get(key)
        if window is None or window.limit != per_minute:
            # A changed limit starts a fresh window, as a new limit in the programme would.
            window = self._windows[key] = MovingWindow(per_minute)
        wait_s = window.hit(self._clock())
        if wait_s <= 0:
            return
        retry_after_s = max(1, math.ceil(wait_s))
        raise RateLimited(
            f"more than {per_minute} previews a minute; retry in {retry_after_s}s",
            headers={"Retry-After": str(retry_after_s)},
        )
