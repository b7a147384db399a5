"""A connection whose reset fails as it goes back to the pool (Postgres restarting between a
batch's commit and the release) does not undo the batch's success, nor hide another error."""

from typing import Any, cast

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError

from ledger.repository import with_retries

STATE_ERROR = "cannot switch to state 15; another operation (2) is in progress"


class BrokenOnRelease:
    """A pool slice whose release fails as asyncpg's does on a connection the server closed."""

    def __init__(self) -> None:
        self.released = 0

    async def acquire(self) -> object:
        return object()

    async def release(self, conn: object) -> None:
        self.released += 1
        raise InternalClientError(STATE_ERROR)


async def test_the_work_done_stands_when_the_release_breaks() -> None:
    pool = BrokenOnRelease()
    calls: list[object] = []

    async def work(conn: Any) -> str:
        calls.append(conn)
        return "committed"

    done = await with_retries(cast(asyncpg.Pool, pool), work, "batch", 3, 0.0, None)
    assert (done, len(calls), pool.released) == ("committed", 1, 1)


async def test_the_works_own_error_is_raised_not_the_releases() -> None:
    pool = BrokenOnRelease()

    async def work(conn: Any) -> str:
        raise ValueError("a bad command")

    with pytest.raises(ValueError, match="a bad command"):
        await with_retries(cast(asyncpg.Pool, pool), work, "batch", 3, 0.0, None)
