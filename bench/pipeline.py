"""`python -m bench.pipeline`: the processors' own work per event, outside faust.

`bench.processors` measures a whole faust worker, whose own part (`bench.faust_floor`) is most of
its CPU, and on a shared machine the two phases of that run see different loads. This measures
only what the agent adds to faust, steadier: `EventPipeline.decide` and `emit` over
`bench.processors`' events (the demo programme, its event mix), `--batch` events at a time as
the agent takes them, with a dict in place of each faust table and a send that returns an
already-done delivery. Validating the record, the event-time check, reading and decoding the
user's state, deciding, the ledger command's JSON, encoding the state and the batch's metrics
are all in it; Kafka and faust are not.

Ends with `RESULT us_per_event=N events=E dead_letters=D bytes_per_event=B`: process CPU of the
timed loop per event, the events sent to dead letters (0: every event is valid and in bounds)
and the bytes sent per event (commands, states and budget entries), which shows a change to
the commands' bytes.
"""

import argparse
import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder

from bench.processors import DEMO, EVENT_TIME, events
from gateway.admin.programmes import load_file, snapshot_bytes
from processors.budgets import BudgetUsage
from processors.catalog import ProgrammeCatalog
from processors.external import ExternalPoints
from processors.outbox import Outbox, RecordBatch
from processors.pipeline import EventPipeline, Outputs
from processors.runtime import GC_THRESHOLDS
from processors.settings import ProcessorSettings
from processors.tables import TableWriter
from runtime.collector import tune_garbage_collector
from schemas.dead_letters import DeadLetter

PROGRAMME_ID = "bench-pipeline"
PARTITIONS = 4
BATCH_BYTES = ProcessorSettings.model_fields["producer_max_batch_bytes"].default


class _Message:
    """The fields of a faust message the pipeline reads."""

    __slots__ = ("key", "offset", "partition", "timestamp", "topic", "value")

    def __init__(self, offset: int, key: bytes, value: bytes, timestamp: float) -> None:
        self.topic = "events.v1"
        self.partition = offset % PARTITIONS
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp


class _Event:
    __slots__ = ("message",)

    def __init__(self, message: _Message) -> None:
        self.message = message


class _Changelog:
    def __init__(self, name: str) -> None:
        self._name = name

    def get_topic_name(self) -> str:
        return self._name


class _DictTable:
    """What `TableWriter` reads of a faust table: its store and its changelog's name."""

    def __init__(self, name: str) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changelog_topic = _Changelog(f"{name}-changelog")


class _Sink:
    """A send that counts the bytes and returns a delivery that is already done."""

    def __init__(self) -> None:
        self.bytes = 0
        self._done: asyncio.Future[None] | None = None

    async def send(
        self, topic: str, key: bytes | None, value: bytes, partition: int | None
    ) -> Awaitable[Any]:
        self.bytes += len(value)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            self._done.set_result(None)
        return self._done

    def create_batch(self) -> RecordBatch:
        return _CountingBatch(self)

    async def send_batch(self, batch: RecordBatch, topic: str, *, partition: int) -> Awaitable[Any]:
        return await self.send(topic, None, b"", partition)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


class _CountingBatch:
    """aiokafka's record batch (its records appended as the producer's are), counting the
    values' bytes."""

    def __init__(self, sink: _Sink) -> None:
        self._sink = sink
        self._batch = BatchBuilder(BATCH_BYTES, 0)  # 0: no compression

    def append(self, *, timestamp: int | None, key: bytes | None, value: bytes) -> Any:
        self._sink.bytes += len(value)
        return self._batch.append(timestamp=timestamp, key=key, value=value)

    def close(self) -> None:
        self._batch.close()


def _table(name: str, sink: _Sink) -> TableWriter:
    return TableWriter(_DictTable(name), sink.send)  # type: ignore[arg-type]


def _catalog() -> ProgrammeCatalog:
    config = load_file(DEMO).model_copy(
        update={"programme_id": PROGRAMME_ID, "event_time": EVENT_TIME}
    )
    catalog = ProgrammeCatalog()
    if catalog.apply(snapshot_bytes(config)) is None:
        raise SystemExit("error: the demo programme was not installed")
    return catalog


async def run(count: int, users: int, batch_size: int, seed: int) -> tuple[float, int, int]:
    """(CPU seconds of the timed loop, dead letters, bytes sent)."""
    sink = _Sink()
    pipeline = EventPipeline(
        _catalog(),
        _table("user-state", sink),
        _table("external-amounts", sink),
        ExternalPoints(1, 1, 0),
        BudgetUsage(_table("rule-budgets", sink), PARTITIONS),
        Outputs(sink.send, Outbox(lambda: sink), "ledger-commands.v1", "dead-letters.v1"),
    )
    now = time.time()
    records = [
        _Event(_Message(offset, key, value, now))
        for offset, (key, value) in enumerate(events(PROGRAMME_ID, count, users, seed))
    ]
    tune_garbage_collector(GC_THRESHOLDS)
    dead = 0
    started = time.process_time()
    for start in range(0, count, batch_size):
        batch = await pipeline.decide(records[start : start + batch_size])
        dead += sum(1 for _, handled in batch.outcomes if isinstance(handled, DeadLetter))
        await pipeline.emit(batch)
    return time.process_time() - started, dead, sink.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.events <= 0 or args.users <= 0 or args.batch <= 0:
        parser.error("--events, --users and --batch must be positive")
    cpu_s, dead, sent = asyncio.run(run(args.events, args.users, args.batch, args.seed))
    print(
        f"RESULT us_per_event={cpu_s / args.events * 1e6:.1f} events={args.events} "
        f"dead_letters={dead} bytes_per_event={sent / args.events:.0f}"
    )


if __name__ == "__main__":
    main()
