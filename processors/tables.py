"""The worker's faust tables, written past faust's per-write changelog machinery.

`table[key] = value` makes faust build a FutureMessage and queue it in a buffer that a background
task hands to the producer one record at a time: about 100 µs per write here, as much as the
rest of faust's per-record work (`python -m bench.processors`, faust floor with and without the
write). A `TableWriter` does what that write does for a non-windowed table in memory, sets the
store's value and sends the changelog record to the event's partition, straight to the producer,
and returns the delivery, so a batch's states leave in the same produce request as its commands
and its offsets are committed only after they are in Kafka (faust does not wait for its own
changelog writes before committing). What it leaves out of faust's write: the sensors' counts
(faust's monitor, which nothing here reads) and the check that the events topic has as many
partitions as the table, which both take from `topic_partitions`."""

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import TableT

from processors.outbox import Outbox

# Hands one record to the producer (topic, key, value, partition or None for the key's); the
# awaitable it returns resolves once Kafka has it.
Send = Callable[[str, bytes | None, bytes, int | None], Awaitable[Awaitable[Any]]]


class TableWriter:
    """A faust table of bytes to bytes: read as faust reads it, written by `set`."""

    def __init__(self, table: TableT[bytes, bytes], send: Send) -> None:
        self._table = table
        self._changelog = table.changelog_topic.get_topic_name()
        self._send = send

    def get(self, key: bytes) -> bytes | None:
        """The store's value, read as `set` writes it: `table.get` would also count the read for
        faust's monitor, which nothing here reads (about 1 µs a read)."""
        return self._table.data.get(key)

    async def set(self, key: bytes, value: bytes, event: faust.EventT[bytes]) -> Awaitable[Any]:
        """Sets `key` and sends its changelog record to `event`'s partition, which faust's
        recovery reads back when the partition is assigned (the table's partitions are the
        events topic's); returns the record's delivery."""
        self._table.data[key] = value
        partition = event.message.partition
        return await self._send(self._changelog, key, value, partition)

    def stage(self, key: bytes, value: bytes, event: faust.EventT[bytes], outbox: Outbox) -> None:
        """`set`, with the changelog record added to `outbox` (sent with the batch's others)."""
        self._table.data[key] = value
        outbox.add(self._changelog, key, value, event.message.partition)
