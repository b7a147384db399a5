"""The worker's Kafka transport: faust's aiokafka transport, with fetches batched at the broker.

faust creates its consumer with `fetch_max_wait_ms=1500` and aiokafka's `fetch_min_bytes=1`, so
the broker answers a fetch as soon as one record arrives: at a few hundred events a second that
is a fetch request and response per record or two, each passed between faust's consumer thread
and the worker's loop. Letting the broker wait up to `fetch_wait_ms` for `fetch_min_bytes` took
the worker at 500 events/s from 53 to 34 % of a core, and the records lose nothing by it: they
wait for the stream's batch (`batch_wait_ms`) anyway. A backlog fills `fetch_min_bytes` at once,
so a busy worker fetches as before.

faust offers no setting for either value, so this transport's consumer thread sets them on the
aiokafka consumer faust builds, before it starts (aiokafka hands them to its fetcher then).
"""

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

import aiokafka
import faust
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message

from processors.holes import head_hole_at
from processors.progress import PartitionProgress

log = logging.getLogger(__name__)


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(
        self, transport: faust_aiokafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        fetching = cast(FetchBatchingTransport, transport)
        consumer._fetch_max_wait_ms = fetching.fetch_wait_ms
        consumer._fetch_min_bytes = fetching.fetch_min_bytes
        return consumer


R = TypeVar("R")


class SeekEpochs:
    """Counts each partition's seeks, and lets through only the records of a fetch whose
    partition was not sought since the fetch was in hand."""

    def __init__(self) -> None:
        self._epochs: Counter[TP] = Counter()

    def sought(self, partitions: Iterable[TP]) -> None:
        self._epochs.update(partitions)

    async def fresh(self, records: AsyncIterator[tuple[TP, R]]) -> AsyncIterator[tuple[TP, R]]:
        """`records` (one fetch's, as faust hands them on), less those whose partition was
        sought after the fetch was in hand. faust yields the first record as soon as the fetch
        returns, with nothing run in between, so the epochs are read then; a seek before it
        reached aiokafka's fetcher, which hands on no record of the old position itself."""
        began: Counter[TP] | None = None
        async for tp, message in records:
            if began is None:
                began = self._epochs.copy()
            if self._epochs[tp] == began[tp]:
                yield tp, message


class ExactConsumer(faust_aiokafka.Consumer):
    """faust's consumer, exact about offsets: it never commits over a hole of one record (faust
    does), and never hands on a record fetched before its partition was sought (faust does).

    faust delivers a fetch's records one by one, awaiting the stream for each; a seek meanwhile
    (the recovery's seek to the committed offsets after a rebalance, or `holes.rewind`) leaves
    the rest of that fetch to be delivered after it. Such a record lies past the offset sought to:
    faust takes the offsets between as a gap with no records (so commits jump over them) and then
    drops the records fetched afresh from the offset sought to as older than the last one read.
    The chaos run lost 178 events to it in one run (the broker restarted as a new worker sought).
    So each seek starts a new epoch of its partition, and a record fetched in an earlier epoch is
    dropped: it comes again from the new position."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epochs = SeekEpochs()

    async def seek(self, partition: TP, offset: int) -> None:
        self._epochs.sought([partition])
        await super().seek(partition, offset)
        # Again once the seek has run on the consumer thread's loop (`_seek`): a fetch handed
        # over while it was on its way there came from the old position.
        self._epochs.sought([partition])

    async def _seek(self, partition: TP, offset: int) -> None:
        # faust calls aiokafka's seek from the agent's loop, but the consumer lives on the loop
        # of faust's consumer thread, and the seek wakes its fetcher there: asyncio's debug mode
        # refused it ("Non-thread-safe operation invoked on an event loop other than the current
        # one") and the agent crashed at every seek back (issue #19). So it runs on that loop, as
        # faust's own seek_to_committed does.
        await self._thread.call_thread(self._seek_on_consumer_loop, partition, offset)

    async def _seek_on_consumer_loop(self, partition: TP, offset: int) -> None:
        try:
            self._thread.seek(partition, offset)
        except IllegalStateError:
            # Revoked meanwhile: its next owner starts from the committed offset.
            log.info("not seeking %s to %d: no longer assigned", partition, offset)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        self._epochs.sought(self.assignment())
        sought: Mapping[TP, int] = await super().seek_to_committed()
        return sought

    def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        return self._epochs.fresh(super().getmany(timeout))

    # The agent's record of what is decided and in Kafka; set by the worker's agent (a worker
    # without one, bench.faust_floor's, commits as faust does, less the hole of one record).
    progress: PartitionProgress | None = None

    def _new_offset(self, tp: TP) -> int | None:
        if self.progress is not None and tp.topic == self.progress.topic:
            return self._delivered_offset(self.progress, tp)
        # faust's own test lets a hole of one record at the head through (holes.py).
        if head_hole_at(self, tp):
            return None
        offset: int | None = super()._new_offset(tp)
        return offset

    def _delivered_offset(self, progress: PartitionProgress, tp: TP) -> int | None:
        """The offset after the last record whose outputs are in Kafka, if past the committed
        one; forgets the acks below it (faust's own `_new_offset` would have)."""
        offset = progress.commit_offset(
            tp, self.app.consumer_generation_id, self._committed_offset[tp]
        )
        if offset is not None:
            acked = self._acked[tp]
            acked[:] = [o for o in acked if o >= offset]
            self._acked_index[tp] = set(acked)
        return offset

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FetchBatchingTransport(faust_aiokafka.Transport):
    Consumer = ExactConsumer

    def __init__(self, app: faust.App, fetch_wait_ms: int, fetch_min_bytes: int) -> None:
        super().__init__(app.conf.broker_consumer, app)
        self.fetch_wait_ms = fetch_wait_ms
        self.fetch_min_bytes = fetch_min_bytes


async def first_offset(bootstrap_servers: str, tp: TP, offset: int) -> int | None:
    """The first offset of a record at or after `offset` in `tp`, as the broker holds it now
    (None when it answers none within 2 s): a consumer of its own, outside the group."""
    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partition = aiokafka.TopicPartition(tp.topic, tp.partition)
        consumer.assign([partition])
        consumer.seek(partition, offset)
        records = await consumer.getmany(partition, timeout_ms=2_000, max_records=1)
        fetched = records.get(partition)
        return fetched[0].offset if fetched else None
    finally:
        await consumer.stop()


async def committed_offsets(
    bootstrap_servers: str, group_id: str, tps: Sequence[TP]
) -> dict[TP, int]:
    """The offsets `group_id` committed for `tps`, as the broker holds them (a partition it never
    committed is left out): one request, from an admin client of its own, outside the group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        asked = {aiokafka.TopicPartition(tp.topic, tp.partition): tp for tp in tps}
        offsets = await admin.list_consumer_group_offsets(group_id, partitions=list(asked))
        return {
            asked[partition]: found.offset
            for partition, found in offsets.items()
            if partition in asked and found.offset >= 0
        }
    finally:
        await admin.close()
