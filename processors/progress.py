"""Each partition's records decided in offset order, and only what is in Kafka committed.

A user's events are decided in their partition's order: a cap, a frequency limit or a streak
counts from the events before. faust does not hand records over in that order around seeks and
rebalances: a worker started after a SIGKILL decided offsets 484-540 of a partition before
209-483 (fetched, then dropped by faust), and the chaos run found caps exceeded and streaks
missed. Nor does faust's commit follow what was decided: it commits over offsets it takes for a
gap without records, and acks records the agent never decided.

`PartitionProgress` keeps, per partition of the current consumer generation, the next offset to
decide and the next offset whose outputs are in Kafka. The agent decides a record only when it
is the next one; a record before it (decided already in this generation, fetched again after a
seek) is passed over; a record after it is held, with the rest of its partition in the batch, and
the partition is sought back to the next offset. An offset without a record (a transaction's
marker) is such a gap for good: when a partition is sought back to the same offset a second time
and the broker's first record from there is the one held (`Peek`), the gap is taken as real. The
worker's consumer commits exactly the offsets whose outputs are in Kafka (`commit_offset`)."""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP

from processors.rebalances import hold

log = logging.getLogger(__name__)

# Between two seeks of a partition back to the same offset: records fetched before the first
# still arrive for a moment, and are held without seeking again.
RESEEK_AFTER_S = 1.0


@dataclass
class Sorted:
    """A batch's events to decide now, in order, and the partitions that are behind: each with
    its next offset and the first offset held after it."""

    decide: list[Any] = field(default_factory=list)
    behind: dict[TP, tuple[int, int]] = field(default_factory=dict)


# The first offset the broker holds at or after an offset of a partition (None: none yet).
Peek = Callable[[TP, int], Awaitable[int | None]]
# The group's committed offsets of partitions, as the broker holds them (a partition the group
# never committed is left out).
Starts = Callable[[Sequence[TP]], Awaitable[Mapping[TP, int]]]


class PartitionProgress:
    def __init__(
        self,
        topic: str,
        committed: Callable[[TP], int | None],
        peek: Peek,
        starts: Starts | None = None,
    ) -> None:
        self.topic = topic  # whose partitions it keeps; a consumer commits others as faust does
        self._committed = committed
        self._peek = peek
        self._starts_of = starts
        self._generation: int | None = None
        self._next: dict[TP, int] = {}
        # Where each partition starts in this generation, asked of the broker when the consumer
        # did not know its committed offset yet (`_learn`); None: the group never committed it.
        self._starts: dict[TP, int | None] = {}
        self._delivered: dict[TP, int] = {}
        # Gaps the broker confirmed: the next offset and the first record after it.
        self._gaps: dict[TP, tuple[int, int]] = {}
        self._sought: dict[TP, tuple[int, float]] = {}

    async def _learn(self, events: Sequence[Any]) -> None:
        """For each partition of `events` whose first record of this generation is coming and
        whose committed offset the consumer does not know yet, the broker's.

        A new worker's consumer learns its committed offsets only when faust seeks to them, and
        faust starts handing records over before that. A record of such a partition was taken
        for its first, so when faust had dropped the records before it (around a rebalance, as
        `holes` says) they were never decided and their offsets were committed all the same:
        the chaos run lost events that way, a worker started after a SIGKILL deciding offsets
        542 on of a partition committed at 469, and committing past 469-541."""
        if self._starts_of is None:
            return
        known, committed = self._next.keys() | self._starts.keys(), self._committed
        unknown = [
            tp for tp in {event.message.tp for event in events} - known if committed(tp) is None
        ]
        if not unknown:
            return
        found = await self._starts_of(unknown)  # one request for all of them
        for tp in unknown:
            self._starts[tp] = start = found.get(tp)
            if start is not None:
                log.info("%s starts at the group's committed offset %d, the broker's", tp, start)

    async def sort(self, events: Sequence[Any], generation: int) -> Sorted:
        """`events` (faust events of `generation`, in the order handed over): those to decide,
        each its partition's next from its committed offset, the broker's when the consumer does
        not know it yet (`_learn`); the others held (`hold` is called on each)."""
        if generation != self._generation:
            self._start(generation)
        await self._learn(events)
        result = Sorted()
        nexts, behind = self._next, result.behind
        for event in events:
            message = event.message
            tp, offset = message.tp, message.offset
            expected = nexts.get(tp)
            if expected is None:
                committed = self._committed(tp)
                if committed is None:
                    committed = self._starts.get(tp)
                # Neither known: a group that never committed this partition starts at its
                # first record.
                expected = offset if committed is None else committed
            if tp in behind or (offset > expected and self._gaps.get(tp) != (expected, offset)):
                behind.setdefault(tp, (expected, offset))
                hold(event)
                continue
            if offset >= expected:
                nexts[tp] = offset + 1
                result.decide.append(event)
            # An offset before the next was decided in this generation already: passed over.
        return result

    def delivered(self) -> None:
        """Everything decided so far is in Kafka."""
        self._delivered.update(self._next)

    def commit_offset(self, tp: TP, generation: int, committed: int | None) -> int | None:
        """The offset to commit for `tp` now, if any: the next one not in Kafka yet."""
        if generation != self._generation:
            return None
        delivered = self._delivered.get(tp)
        if delivered is None or (committed is not None and delivered <= committed):
            return None
        return delivered

    async def to_rewind(self, behind: dict[TP, tuple[int, int]], now: float) -> dict[TP, int]:
        """The partitions to seek back now, each to its next offset. A partition sought back to
        the same offset less than `RESEEK_AFTER_S` ago is not (records fetched before still
        arrive); sought back once already, the broker is asked whether the offsets held over
        have records at all: if not, the gap is remembered and passed when the records come
        again."""
        rewind = {}
        for tp, (expected, first_held) in behind.items():
            sought = self._sought.get(tp)
            if sought is not None and sought[0] == expected:
                if now - sought[1] < RESEEK_AFTER_S:
                    continue
                first = await self._peek(tp, expected)
                if first is not None and first >= first_held:
                    self._gaps[tp] = (expected, first_held)
            self._sought[tp] = (expected, now)
            rewind[tp] = expected
        return rewind

    def _start(self, generation: int) -> None:
        self._generation = generation
        self._next.clear()
        self._starts.clear()
        self._delivered.clear()
        self._gaps.clear()
        self._sought.clear()
