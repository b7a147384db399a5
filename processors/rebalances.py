"""What the agent may decide around a rebalance, and what it must leave for the records'
owner after it.

A rebalance (a worker joining or dying, the broker restarting) re-reads the tables' changelogs
into the very dicts the agent writes, up to the changelogs' end offsets at that moment, and then
seeks each partition back to its committed offset. Two things went wrong around it (the chaos run
with the processors SIGKILLed and the broker restarted: events lost, caps exceeded):

- faust's `take_events` acks every event of a batch once the agent has it, decided or not. An
  event of an earlier consumer generation, which the agent sets aside (its partition may be
  another worker's now), was still acked under the new generation: faust could commit past it
  before its re-fetched copy was decided, and a second rebalance or a crash in between lost it.
  A set-aside event is now held: its message's reference count is raised, so faust's ack does
  not count it, and it comes again from the committed offset, as a record faust's own stream
  drops does.
- A batch written while the changelogs are re-read (its records queued after the end offsets
  were taken, the producer being slow with the broker just back) was overwritten in memory by
  the changelogs' older values: users' states lost that batch's events although its offsets
  were committed, so their caps counted from too little. Now the revocation waits for the batch
  in hand to be in Kafka (at most `wait_s`; past that the worker stops, and a new one reads the
  changelogs whole), and from then until the new generation the agent decides nothing: the
  events it is handed are held, and come again after the seek back."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Generations(Protocol):
    """The part of a faust app the guard reads."""

    @property
    def consumer_generation_id(self) -> int: ...


class BatchStuck(Exception):
    """The batch in hand was not in Kafka when a revocation had waited its longest."""


class RebalanceGuard:
    def __init__(self, app: Generations, wait_s: float) -> None:
        self._app = app
        self._wait_s = wait_s
        self._idle = asyncio.Event()
        self._idle.set()
        # The generation whose partitions were revoked: nothing of it is decided any more.
        self._revoked: int | None = None

    def to_decide(self, events: Sequence[Any]) -> list[Any]:
        """The events of `events` (faust events, in order) to decide now; the others are held."""
        generation = self._app.consumer_generation_id
        closed = generation == self._revoked
        decide = []
        for event in events:
            if not closed and event.message.generation_id == generation:
                decide.append(event)
            else:
                hold(event)
        if len(decide) < len(events):
            log.info(
                "held %d of %d events (generation %d, revoked %s): they come again",
                len(events) - len(decide),
                len(events),
                generation,
                self._revoked,
            )
        return decide

    @asynccontextmanager
    async def deciding(self) -> AsyncIterator[None]:
        """Around deciding a batch and emitting it: a revocation waits for it to end."""
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    async def on_revoked(self, *_: object, **__: object) -> None:
        """faust's `on_partitions_revoked` signal (sent once faust has stopped the flow and
        flushed its producer): waits for the batch in hand, then closes the generation."""
        try:
            await asyncio.wait_for(self._idle.wait(), self._wait_s)
        except TimeoutError:
            raise BatchStuck(
                f"the batch in hand was not in Kafka {self._wait_s:g} s into a rebalance"
            ) from None
        self._revoked = self._app.consumer_generation_id


def hold(event: Any) -> None:
    """Keeps faust's ack of `event` from counting: one more reference to its message than the
    streams that hold it will release."""
    event.message.incref()
