"""A batch's deliveries: waited for until every one has resolved, whatever order they resolve
in; a failed one fails the wait (the batch's offsets are then not committed)."""

import asyncio

import pytest

from processors.deliveries import delivered


async def test_the_wait_ends_only_when_every_delivery_has_resolved() -> None:
    loop = asyncio.get_running_loop()
    deliveries = [loop.create_future() for _ in range(5)]
    deliveries[0].set_result(None)
    waiting = asyncio.ensure_future(delivered(deliveries))
    for future in reversed(deliveries[1:]):  # the last ones first, as other partitions may
        await asyncio.sleep(0)
        assert not waiting.done()
        future.set_result(None)
    await asyncio.wait_for(waiting, 1)


async def test_a_failed_delivery_fails_the_wait() -> None:
    loop = asyncio.get_running_loop()
    done, failed, pending = loop.create_future(), loop.create_future(), loop.create_future()
    done.set_result(None)
    failed.set_exception(ConnectionError("broker gone"))
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(delivered([done, failed, pending]), 1)


async def test_no_deliveries_is_no_wait() -> None:
    await asyncio.wait_for(delivered([]), 1)
