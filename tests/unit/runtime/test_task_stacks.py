"""The dump follows a task's awaits down to what the innermost coroutine waits for."""

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import Any

from runtime.task_stacks import awaits


async def innermost(waiting: asyncio.Future[None]) -> None:
    await waiting


async def middle(waiting: asyncio.Future[None]) -> None:
    await innermost(waiting)


def test_a_task_shows_each_coroutine_it_awaits_and_the_future_at_the_bottom() -> None:
    async def run() -> list[str]:
        waiting = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(middle(waiting))
        await asyncio.sleep(0)
        chain = list(awaits(task.get_coro()))
        waiting.set_result(None)
        await task
        return chain

    chain = asyncio.run(run())
    assert [line.rsplit(" in ", 1)[-1] for line in chain[:2]] == ["middle", "innermost"]
    assert chain[-1].startswith("waits for Future")


class Wrapped:
    """Awaits as faust's agents do: through another coroutine's `__await__`."""

    def __init__(self, waiting: asyncio.Future[None]) -> None:
        self._coro = innermost(waiting)

    def __await__(self) -> Generator[Any, None, None]:
        return self._coro.__await__()


async def through_wrapper_and_generator(waiting: asyncio.Future[None]) -> None:
    async def items() -> AsyncIterator[int]:
        await Wrapped(waiting)
        yield 1

    async for _ in items():
        pass


def test_the_chain_goes_on_through_await_wrappers_and_async_generators() -> None:
    async def run() -> list[str]:
        waiting = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(through_wrapper_and_generator(waiting))
        await asyncio.sleep(0)
        chain = list(awaits(task.get_coro()))
        waiting.set_result(None)
        await task
        return chain

    chain = asyncio.run(run())
    names = [line.rsplit(" in ", 1)[-1] for line in chain[:-1]]
    assert names == ["through_wrapper_and_generator", "items", "innermost"]
    assert chain[-1].startswith("waits for Future")
