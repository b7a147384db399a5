"""The dump follows a task's awaits down to what the innermost coroutine waits for."""

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from typing import Any

from runtime.task_stacks import awaits

Waiter = Callable[[asyncio.Future[None]], Coroutine[Any, Any, None]]


async def innermost(waiting: asyncio.Future[None]) -> None:
    await waiting


async def middle(waiting: asyncio.Future[None]) -> None:
    await innermost(waiting)


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


def chain_of(waiter: Waiter) -> tuple[list[str], str]:
    """The functions down the chain of a task running `waiter` while it waits, and the last
    line (what the innermost one waits for)."""

    async def run() -> list[str]:
        waiting = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(waiter(waiting))
        await asyncio.sleep(0)
        chain = list(awaits(task.get_coro()))
        waiting.set_result(None)
        await task
        return chain

    chain = asyncio.run(run())
    return [line.rsplit(" in ", 1)[-1] for line in chain[:-1]], chain[-1]


def test_a_task_shows_each_coroutine_it_awaits_and_the_future_at_the_bottom() -> None:
    names, last = chain_of(middle)
    assert names == ["middle", "innermost"]
    assert last.startswith("waits for Future")


def test_the_chain_goes_on_through_await_wrappers_and_async_generators() -> None:
    names, last = chain_of(through_wrapper_and_generator)
    assert names == ["through_wrapper_and_generator", "items", "innermost"]
    assert last.startswith("waits for Future")
