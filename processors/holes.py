"""Holes in a partition's acknowledged offsets: records fetched but never handed to the agent.

faust 0.15 sometimes drops records around a rebalance (a worker killed and started again, a
broker restart): it labels a fetched record with the consumer generation it read at the time,
and its stream skips a record whose label is not the current generation, without acking it and
without seeking back. The fetch position has moved past it, so it never comes again, while later
records are decided and acked. Two things then go wrong, and this module mends both:

- faust commits up to the first un-acked offset, except that its test for a hole at the head
  (`min(acked) - committed > 1`) lets a hole of exactly one record through: it would commit past
  it and lose it. `head_hole` is the exact test, and the worker's consumer refuses to commit
  while there is one.
- A hole of more records stops the commits for good (the chaos run found offsets 157-167 of
  partition 2 missing and the committed offset stuck at 157). `HoleMender` seeks such a
  partition back to its committed offset once the hole has lasted `wait_s`: the records after it
  come again and are decided again, which is harmless (same event ids, same bookings: the ledger
  books an event once; decision 0001).
- A hole with nothing decided after it (the chaos run: a worker started after a SIGKILL fetched
  the rest of three partitions and decided none of it, their lag reading 0 and their committed
  offsets stuck) shows no acks past the committed offset at all: `tail_hole` sees it from the
  fetch position instead, when no record of the partition is acked or on its way to the agent.
  It is sought back the same way, once per committed offset and position, so a position past the
  last record for another reason (a transaction marker) costs one re-read, not a loop."""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

import faust
from faust.transport.consumer import Consumer
from faust.types import TP

from processors import metrics

log = logging.getLogger(__name__)


def head_hole(committed: int | None, acked: Iterable[int], filled: Callable[[int], bool]) -> bool:
    """Whether records were acked past an un-acked one at the committed offset.

    `committed` is the next offset to read (Kafka's meaning); `filled` says whether an offset
    is one faust knows has no record (a gap: compaction, transaction markers)."""
    if committed is None:
        return False
    first = min(acked, default=None)
    return first is not None and first > committed and not filled(committed)


def tail_hole(committed: int | None, position: int | None) -> bool:
    """Whether records were fetched past the committed offset; asked only of a partition none of
    whose records is acked or held by the agent, so it means faust dropped them all."""
    return committed is not None and position is not None and position > committed


@dataclass
class HoleMender:
    """Remembers since when each partition has had a hole at the same committed offset, and says
    which partitions to seek back: those whose hole has lasted `wait_s` (a record only just
    fetched is not a hole yet: batches are acked together, but an agent may still hold one)."""

    wait_s: float
    _since: dict[object, tuple[int, float]] = field(default_factory=dict)

    def to_rewind(self, holes: Mapping[object, int], now: float) -> list[object]:
        """`holes` maps each partition that has a head hole to its committed offset; the answer
        lists the partitions to seek back to it now."""
        for tp in list(self._since):
            if tp not in holes:
                del self._since[tp]
        rewind = []
        for tp, committed in holes.items():
            seen = self._since.get(tp)
            if seen is None or seen[0] != committed:
                self._since[tp] = (committed, now)
            elif now - seen[1] >= self.wait_s:
                rewind.append(tp)
                del self._since[tp]
        return rewind


async def holes_of(
    consumer: Consumer, topic: str, generation: int
) -> dict[object, tuple[int, int | None]]:
    """The partitions of `topic` with a hole now, each with its committed offset and, for a hole
    at the tail, the fetch position. A record of an earlier consumer generation is not in
    flight: the agent skips it without an ack, as faust's stream does."""
    in_flight = {
        message.tp
        for message in list(consumer.unacked)
        if not message.acked and message.generation_id == generation
    }
    holes: dict[object, tuple[int, int | None]] = {}
    for tp in consumer.assignment():
        committed = consumer._committed_offset[tp]
        if tp.topic != topic or committed is None:
            continue
        if head_hole_at(consumer, tp):
            holes[tp] = (committed, None)
        elif not consumer._acked[tp] and tp not in in_flight:
            position = await position_of(consumer, tp)
            if tail_hole(committed, position):
                holes[tp] = (committed, position)
    return holes


async def position_of(consumer: Consumer, tp: TP) -> int | None:
    """The partition's fetch position; None while it is not known (aiokafka waits for a reset
    position, which the timer must not do)."""
    try:
        return await asyncio.wait_for(consumer.position(tp), timeout=1.0)
    except TimeoutError:
        return None


def count_from_zero(assignment: Iterable[TP], topic: str) -> None:
    """Exports the mends of each partition of `topic` in the worker's assignment, at 0 until one
    happens: a series born at 1 shows no increase, so the first mends would raise no alert (and
    the dashboard's panel would have no series)."""
    for tp in assignment:
        if tp.topic == topic:
            metrics.HOLES_MENDED.labels(str(tp.partition))


def head_hole_at(consumer: Consumer, tp: TP) -> bool:
    gaps = consumer._gap[tp]
    return head_hole(consumer._committed_offset[tp], consumer._acked[tp], lambda o: bool(gaps[o]))


async def rewind(consumer: Consumer, tp: TP, committed: int) -> None:
    """Seeks `tp` back to its committed offset and forgets what was acked past it, so the
    records from there on are fetched, decided and acked afresh."""
    acked = sorted(consumer._acked[tp])
    log.warning(
        "seeking %s back to its committed offset %d over a hole (acked past it: %s)",
        tp,
        committed,
        f"{len(acked)} from {acked[0]} to {acked[-1]}" if acked else "none",
    )
    await consumer.seek(tp, committed)
    consumer._acked.pop(tp, None)
    consumer._acked_index.pop(tp, None)
    metrics.HOLES_MENDED.labels(str(tp.partition)).inc()


async def seek_to_next(consumer: Consumer, tp: TP, offset: int) -> None:
    """Seeks `tp` back to the next offset the agent is to decide: later records of the
    partition came first (progress.py). Counted as a hole mended: it is one, found sooner."""
    log.warning(
        "seeking %s back to %d, the next offset to decide: later records came first", tp, offset
    )
    await consumer.seek(tp, offset)
    metrics.HOLES_MENDED.labels(str(tp.partition)).inc()


def mend_holes(app: faust.App, topic: str, wait_s: float) -> None:
    """Has `app` seek back each partition of `topic` whose hole has lasted `wait_s`."""
    mender = HoleMender(wait_s)
    tail_rewound: dict[object, tuple[int, int]] = {}

    async def mend() -> None:
        # The delegate faust's transports make: the bookkeeping read here is the base class's.
        consumer = cast(Consumer, app.consumer)
        count_from_zero(consumer.assignment(), topic)
        holes = await holes_of(consumer, topic, app.consumer_generation_id)
        committed = {tp: offset for tp, (offset, _) in holes.items()}
        for tp in mender.to_rewind(committed, time.monotonic()):
            offset, position = holes[tp]
            if position is not None:
                if tail_rewound.get(tp) == (offset, position):
                    continue  # sought back over this very tail already: it is no hole
                tail_rewound[tp] = (offset, position)
            await rewind(consumer, cast(TP, tp), offset)

    app.timer(interval=wait_s / 2)(mend)
