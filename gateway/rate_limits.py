"""Per-partner publishing rates (mgPass: 30 events a minute unless the partner's config says
otherwise), one count per partner however many gateway instances serve it.

The count lives in Postgres (`gateway.rate_windows`, decision 0015): a partner has one window at
a time, which opens with its first request after the previous window ended and lasts a minute.
An instance reserves slots of the window, `max(1, limit // SLICE_FRACTION)` at a time, and spends
them here until the window ends: a 30-a-minute partner costs one short statement per request, a
1,000,000-a-minute partner one per 50,000. Every slot handed out counts, spent or not, so all
instances together never admit more than the limit in a window. Once the window is full, this
instance refuses the partner until it ends without asking again (nothing is ever given back, so
the answer cannot change), with Retry-After the seconds until then.

Times are this process's monotonic clock. A reservation's slots are spent only until its send
time plus the seconds the database said were left, which is never later than the window's end;
a refusal lasts until its answer's arrival plus those seconds, never earlier than the end."""

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from gateway.errors import RateLimited, Unavailable

WINDOW_S = 60.0
# A reservation asks for this fraction of the limit: fewer statements for fast partners, and at
# most this much of a window stranded on an instance that a partner stops calling.
SLICE_FRACTION = 20


@dataclass(frozen=True, slots=True)
class Reservation:
    slots: int
    """Granted, 0 once the window is full."""
    window_left_s: float
    """Until the window ends, on the store's clock."""


class RateWindows(Protocol):
    async def reserve(
        self, programme_id: str, partner_id: str, limit: int, wanted: int, window_s: float
    ) -> Reservation:
        """Up to `wanted` slots of the partner's current window of `window_s` seconds (opened
        now if the last one ended), never more than `limit` in all in the window. Raises
        Unavailable when the store cannot answer."""


@dataclass(slots=True)
class Allowance:
    """This instance's part of a partner's current window."""

    limit: int
    slots: int = 0
    usable_until: float = 0.0
    refused_until: float = 0.0
    # One reservation at a time per partner: requests that find the slots spent wait for it.
    reserving: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The last reservation that the store could not answer, and when it gave up: requests that
    # waited for it share its answer instead of each waiting out a timeout in turn.
    failure: Unavailable | None = None
    failed_at: float = -math.inf

    def take(self, now: float) -> bool:
        if self.slots > 0 and now < self.usable_until:
            self.slots -= 1
            return True
        return False


def slice_of(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"a rate limit must allow at least one event, not {limit}")
    return max(1, limit // SLICE_FRACTION)


class PartnerRateLimits:
    def __init__(
        self,
        windows: RateWindows,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = WINDOW_S,
    ) -> None:
        self._windows = windows
        self._clock = clock
        self._window_s = window_s
        # One entry per partner that called this instance: bounded by the configuration.
        self._allowances: dict[tuple[str, str], Allowance] = {}

    async def check(self, programme_id: str, partner_id: str, per_minute: int) -> None:
        """Returns when the partner may publish one more event now; raises RateLimited (429,
        with Retry-After) when its window is full, Unavailable when the store cannot tell."""
        allowance = self._allowance(programme_id, partner_id, per_minute)
        arrived = self._clock()
        if allowance.take(arrived):
            return
        async with allowance.reserving:
            now = self._clock()
            if allowance.take(now):  # another request's reservation came in meanwhile
                return
            if now < allowance.refused_until:
                raise self._refusal(per_minute, allowance.refused_until - now)
            if allowance.failure is not None and allowance.failed_at > arrived:
                # The reservation this request waited for failed: so many waiting partners'
                # requests are answered 503 together, within one timeout, not one after another.
                raise Unavailable(allowance.failure.message)
            try:
                reservation = await self._windows.reserve(
                    programme_id, partner_id, per_minute, slice_of(per_minute), self._window_s
                )
            except Unavailable as failure:
                allowance.failure, allowance.failed_at = failure, self._clock()
                raise
            answered = self._clock()
            if reservation.slots == 0:
                allowance.refused_until = answered + reservation.window_left_s
                raise self._refusal(per_minute, allowance.refused_until - answered)
            # This request takes the first slot: it was granted within the window.
            allowance.slots = reservation.slots - 1
            allowance.usable_until = now + reservation.window_left_s

    def _allowance(self, programme_id: str, partner_id: str, per_minute: int) -> Allowance:
        key = (programme_id, partner_id)
        allowance = self._allowances.get(key)
        if allowance is None or allowance.limit != per_minute:
            # A changed limit drops the slots reserved under the old one (they stay counted,
            # so a lowered limit is never exceeded); the store applies the new one at once.
            allowance = self._allowances[key] = Allowance(per_minute)
        return allowance

    def _refusal(self, per_minute: int, wait_s: float) -> RateLimited:
        retry_after_s = max(1, math.ceil(wait_s))
        return RateLimited(
            f"more than {per_minute} events a minute; retry in {retry_after_s}s",
            headers={"Retry-After": str(retry_after_s)},
        )
