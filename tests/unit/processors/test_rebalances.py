import asyncio
from dataclasses import dataclass
from typing import cast

import pytest
from faust.types import ConsumerT
from faust.types.tuples import ConsumerMessage, Message

from processors.rebalances import BatchStuck, RebalanceGuard, hold


@dataclass
class App:
    consumer_generation_id: int


@dataclass
class Event:
    message: Message


class Consumer:
    """Counts faust's final acks, as its consumer's bookkeeping would."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message: Message) -> bool:  # faust calls it with the message finally acked
        self.acked.append(message.offset)
        return True


def event(offset: int, generation: int) -> Event:
    message = ConsumerMessage(
        "events.v1", 0, offset, 0.0, 0, None, b"k", b"v", None, generation_id=generation
    )
    message.incref()  # the agent's stream holds it
    return Event(message)


def test_events_of_the_current_generation_are_decided_the_others_held() -> None:
    guard = RebalanceGuard(App(consumer_generation_id=3), wait_s=1.0)
    events = [event(1, 2), event(2, 3), event(3, 2), event(4, 3)]

    decided = guard.to_decide(events)

    assert [e.message.offset for e in decided] == [2, 4]
    assert [e.message.refcount for e in events] == [2, 1, 2, 1]


def test_a_held_event_is_not_counted_by_fausts_ack() -> None:
    consumer = Consumer()
    held, decided = event(1, 2), event(2, 2)
    hold(held)

    for e in (held, decided):
        # What take_events does with every event it handed over.
        e.message.ack(cast(ConsumerT, consumer))

    assert consumer.acked == [2]
    assert not held.message.acked


async def test_after_a_revocation_nothing_is_decided_until_the_next_generation() -> None:
    app = App(consumer_generation_id=5)
    guard = RebalanceGuard(app, wait_s=1.0)
    await guard.on_revoked(app, {"tp"}, signal=None)

    during = [event(1, 5), event(2, 5)]
    assert guard.to_decide(during) == []
    assert [e.message.refcount for e in during] == [2, 2]

    app.consumer_generation_id = 6
    after = [event(1, 5), event(1, 6)]
    assert [e.message.offset for e in guard.to_decide(after)] == [1]
    assert [e.message.refcount for e in after] == [2, 1]


async def test_a_revocation_waits_for_the_batch_in_hand() -> None:
    app = App(consumer_generation_id=1)
    guard = RebalanceGuard(app, wait_s=5.0)
    steps: list[str] = []
    emitted = asyncio.Event()

    async def batch() -> None:
        async with guard.deciding():
            await emitted.wait()
            steps.append("batch in Kafka")

    async def revocation() -> None:
        await guard.on_revoked(app, set(), signal=None)
        steps.append("revoked")

    running = asyncio.ensure_future(batch())
    await asyncio.sleep(0)
    revoking = asyncio.ensure_future(revocation())
    await asyncio.sleep(0.05)
    assert steps == []
    emitted.set()
    await asyncio.gather(running, revoking)

    assert steps == ["batch in Kafka", "revoked"]


async def test_a_batch_stuck_past_the_wait_stops_the_revocation() -> None:
    app = App(consumer_generation_id=1)
    guard = RebalanceGuard(app, wait_s=0.05)
    never = asyncio.Event()

    async def batch() -> None:
        async with guard.deciding():
            await never.wait()

    running = asyncio.ensure_future(batch())
    await asyncio.sleep(0)
    with pytest.raises(BatchStuck, match=r"0\.05 s into a rebalance"):
        await guard.on_revoked(app, set(), signal=None)
    running.cancel()
    # Not closed: the worker stops instead, and a new one decides it all again.
    assert [e.message.offset for e in guard.to_decide([event(1, 1)])] == [1]
