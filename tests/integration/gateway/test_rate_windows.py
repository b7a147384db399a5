"""The partners' rate windows on the real Postgres (reserve_partner_rate): instances with pools
of their own racing for one partner's window never get more than its limit between them; a
window reopens when it ends, with Retry-After saying when; a store that does not answer is 503."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway.errors import RateLimited, Unavailable
from gateway.rate_limits import PartnerRateLimits
from gateway.rate_windows import PostgresRateWindows

pytestmark = pytest.mark.integration


@pytest.fixture
async def pools(postgres_url: str) -> AsyncIterator[list[asyncpg.Pool]]:
    """Three gateway instances' pools."""
    opened = [await asyncpg.create_pool(postgres_url, min_size=1, max_size=4) for _ in range(3)]
    try:
        yield opened
    finally:
        for pool in opened:
            await pool.close()


def partner() -> str:
    return f"partner-{uuid.uuid4().hex[:8]}"


async def admitted(limits: PartnerRateLimits, partner_id: str, per_minute: int) -> bool:
    try:
        await limits.check("shared", partner_id, per_minute)
    except RateLimited:
        return False
    return True


async def test_racing_reservations_never_grant_more_than_the_limit(
    pools: list[asyncpg.Pool],
) -> None:
    partner_id = partner()
    windows = [PostgresRateWindows(pool, 5.0) for pool in pools]
    reservations = await asyncio.gather(
        *(windows[index % 3].reserve("shared", partner_id, 1_000, 60, 60.0) for index in range(90))
    )
    slots = [reservation.slots for reservation in reservations]
    assert sum(slots) == 1_000
    assert max(slots) == 60  # a full slice while more than 4 slices were left
    assert 0 in slots  # the last ones found the window full
    assert all(0 < reservation.window_left_s <= 60 for reservation in reservations)


async def test_three_instances_admit_the_limit_between_them(pools: list[asyncpg.Pool]) -> None:
    partner_id = partner()
    instances = [PartnerRateLimits(PostgresRateWindows(pool, 5.0)) for pool in pools]
    answers = await asyncio.gather(
        *(admitted(instances[index % 3], partner_id, 50) for index in range(150))
    )
    assert answers.count(True) == 50


async def test_a_retry_when_retry_after_says_opens_a_new_window(
    pools: list[asyncpg.Pool],
) -> None:
    partner_id = partner()
    first, second = (
        PartnerRateLimits(PostgresRateWindows(pool, 5.0), window_s=2.0) for pool in pools[:2]
    )
    assert await admitted(first, partner_id, 2)
    assert await admitted(second, partner_id, 2)
    for limits in (first, second):
        with pytest.raises(RateLimited) as refused:
            await limits.check("shared", partner_id, 2)
        assert refused.value.headers is not None
        retry_after_s = int(refused.value.headers["Retry-After"])
        assert 1 <= retry_after_s <= 2
    await asyncio.sleep(retry_after_s)
    assert await admitted(second, partner_id, 2)  # a new window, opened by this request
    assert await admitted(first, partner_id, 2)
    assert not await admitted(first, partner_id, 2)
    assert not await admitted(second, partner_id, 2)


async def test_a_store_that_does_not_answer_is_unavailable(
    pools: list[asyncpg.Pool], postgres_url: str
) -> None:
    partner_id = partner()
    windows = PostgresRateWindows(pools[0], 0.3)
    await windows.reserve("shared", partner_id, 10, 1, 60.0)
    blocker = await asyncpg.connect(postgres_url)
    try:
        async with blocker.transaction():
            await blocker.execute(
                "SELECT FROM partner_rate_windows WHERE partner_id = $1 FOR UPDATE", partner_id
            )
            with pytest.raises(Unavailable, match="rate limit cannot be checked"):
                await PartnerRateLimits(windows).check("shared", partner_id, 10)
    finally:
        await blocker.close()
    assert (await windows.reserve("shared", partner_id, 10, 1, 60.0)).slots == 1


async def test_nonsense_is_refused_by_the_database(pools: list[asyncpg.Pool]) -> None:
    with pytest.raises(asyncpg.InvalidParameterValueError, match="must be positive"):
        await PostgresRateWindows(pools[0], 5.0).reserve("shared", partner(), 0, 1, 60.0)
