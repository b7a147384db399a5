"""The webhooks process goes on while Postgres is away: a claim that fails is tried again later
(the chaos run of issue 19 saw asyncpg's InternalClientError, raised by a connection whose server
died under a query, end the process)."""

import asyncio

import aiohttp
import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError

from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.policy import DeliveryPolicy


class AwayPool:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def fetch(self, *_args: object) -> list[asyncpg.Record]:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
)
async def test_a_claim_that_fails_while_the_database_is_away_claims_nothing(
    error: Exception,
) -> None:
    policy = DeliveryPolicy(attempts_max=4, backoff_first_s=2.0, backoff_max_s=5.0)
    async with aiohttp.ClientSession() as client:
        dispatcher = Dispatcher(AwayPool(error), client, policy)  # type: ignore[arg-type]
        sending: set[asyncio.Task[None]] = set()
        assert await dispatcher._start(10, sending, sending.discard) == 0
    assert not sending
