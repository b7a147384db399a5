"""A partner's rate window shared by instances: slots reserved a slice at a time and spent
locally, never more than the limit in a window across instances, Retry-After until the window
ends, a full window remembered without asking the store again."""

import asyncio

import pytest

from gateway.errors import RateLimited, Unavailable
from gateway.rate_limits import PartnerRateLimits, Reservation, slice_of
from tests.unit.gateway.publishing.fakes import FakeRateWindows


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def instances(count: int, clock: Clock) -> tuple[FakeRateWindows, list[PartnerRateLimits]]:
    """`count` gateway instances over one store, all on `clock`."""
    store = FakeRateWindows(clock)
    return store, [PartnerRateLimits(store, clock) for _ in range(count)]


async def admitted(limits: PartnerRateLimits, per_minute: int) -> bool:
    try:
        await limits.check("demo", "mgpass", per_minute)
    except RateLimited:
        return False
    return True


def retry_after(refused: pytest.ExceptionInfo[RateLimited]) -> int:
    assert refused.value.headers is not None
    return int(refused.value.headers["Retry-After"])


async def test_two_instances_admit_the_limit_between_them_not_each() -> None:
    clock = Clock()
    _, (first, second) = instances(2, clock)
    answers = []
    for index in range(8):
        answers.append(await admitted((first, second)[index % 2], 3))
        clock.now += 1
    assert answers == [True, True, True, False, False, False, False, False]


async def test_past_the_limit_retry_after_runs_to_the_end_of_the_window() -> None:
    clock = Clock()
    _, (first, second) = instances(2, clock)
    await first.check("demo", "mgpass", 2)  # opens the window: it ends at 1,060
    clock.now += 10.5
    await second.check("demo", "mgpass", 2)
    for limits in (first, second):
        with pytest.raises(RateLimited) as refused:
            await limits.check("demo", "mgpass", 2)
        assert retry_after(refused) == 50  # 49.5 s, rounded up
    clock.now += 49.5
    assert await admitted(second, 2)  # a new window, opened by this request
    assert await admitted(first, 2)
    assert not await admitted(first, 2)


async def test_a_full_window_is_refused_without_asking_the_store_again() -> None:
    clock = Clock()
    store, (limits,) = instances(1, clock)
    assert [await admitted(limits, 1) for _ in range(5)] == [True, False, False, False, False]
    assert store.reservations == 2  # the admission and the first refusal


async def test_a_fast_partner_costs_one_reservation_per_slice() -> None:
    clock = Clock()
    store, (limits,) = instances(1, clock)
    per_minute = 1_000_000
    assert slice_of(per_minute) == 50_000
    for _ in range(100_000):
        await limits.check("demo", "mgpass", per_minute)
    assert store.reservations == 2


async def test_slices_shrink_as_the_window_fills_so_no_instance_strands_much() -> None:
    clock = Clock()
    store, (first, second) = instances(2, clock)
    # One instance spends most of a 100-a-minute window; the other then still gets its share.
    for _ in range(90):
        await first.check("demo", "mgpass", 100)
    granted = [await admitted(second, 100) for _ in range(20)]
    assert granted.count(True) >= 7  # at most the first's last grant (≤ 3) is stranded
    assert store.windows["demo", "mgpass"][1] == 100


async def test_slots_reserved_in_a_window_are_not_spent_after_it() -> None:
    clock = Clock()
    store, (first, second) = instances(2, clock)
    await first.check("demo", "mgpass", 100)  # reserves a slice of 5, spends 1
    clock.now += 60
    # The window is over: the 4 slots left on `first` are void, the new window counts afresh.
    for _ in range(100):
        await second.check("demo", "mgpass", 100)
    assert not await admitted(first, 100)
    assert store.windows["demo", "mgpass"][1] == 100


async def test_concurrent_requests_wait_for_one_reservation() -> None:
    clock = Clock()
    store, (limits,) = instances(1, clock)
    results = await asyncio.gather(
        *(admitted(limits, 200) for _ in range(10)), return_exceptions=True
    )
    assert results == [True] * 10
    assert store.reservations == 1  # a slice of 10 served all ten


async def test_partners_and_programmes_are_counted_apart() -> None:
    clock = Clock()
    _, (limits,) = instances(1, clock)
    await limits.check("demo", "mgpass", 1)
    await limits.check("demo", "other-partner", 1)
    await limits.check("other-programme", "mgpass", 1)
    with pytest.raises(RateLimited):
        await limits.check("demo", "mgpass", 1)


async def test_a_changed_limit_takes_effect_at_once() -> None:
    clock = Clock()
    _, (limits,) = instances(1, clock)
    await limits.check("demo", "mgpass", 1)
    with pytest.raises(RateLimited):
        await limits.check("demo", "mgpass", 1)
    await limits.check("demo", "mgpass", 5)
    # Lowered again: the slots reserved under 5 are dropped, and the window holds 2 already.
    with pytest.raises(RateLimited):
        await limits.check("demo", "mgpass", 2)


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        slice_of(0)


class UnansweringStore:
    """A store that takes `timeout_s` of the clock to give up, as Postgres down would."""

    def __init__(self, clock: Clock, timeout_s: float) -> None:
        self.clock, self.timeout_s, self.reservations = clock, timeout_s, 0

    async def reserve(
        self, programme_id: str, partner_id: str, limit: int, wanted: int, window_s: float
    ) -> Reservation:
        self.reservations += 1
        await asyncio.sleep(0)
        self.clock.now += self.timeout_s
        raise Unavailable("the partner's rate limit cannot be checked now")


async def test_requests_waiting_for_a_failed_reservation_share_its_503() -> None:
    clock = Clock()
    store = UnansweringStore(clock, 2.0)
    limits = PartnerRateLimits(store, clock)
    results = await asyncio.gather(
        *(limits.check("demo", "mgpass", 30) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(result, Unavailable) for result in results)
    assert store.reservations == 1  # one timeout for all fifty, not fifty in turn
    assert clock.now == 1_002.0
    # A request arriving after the failure asks the store again.
    with pytest.raises(Unavailable):
        await limits.check("demo", "mgpass", 30)
    assert store.reservations == 2
