"""Waiting for a batch's records to be in Kafka."""

from collections.abc import Awaitable, Iterable
from typing import Any


async def delivered(deliveries: Iterable[Awaitable[Any]]) -> None:
    """Returns once every delivery has resolved; raises the first failure in order.

    Awaited in turn rather than by `asyncio.gather`: gather hangs a callback on every delivery
    and the loop then runs one scheduled callback per record, while awaiting a delivery that is
    already done does not even yield. The producer resolves a whole produce request's records
    at once, so a batch of a thousand records waits a handful of times."""
    for delivery in deliveries:
        await delivery
