"""A faust worker configured as the processors' (`processors.app.faust_app`, with the hole
mender) whose agent withholds the acks of some records the first time it sees them, as faust 0.15
drops records around a rebalance: fetched, never acked, while later ones are. It forwards each
record it handles to an output topic as `partition:offset`, so a test sees which came again.

python -m tests.integration.processors.holey_worker IN OUT PARTITION FIRST LAST (settings from
the LOYALTY_ environment, as the processors')."""

import sys
from typing import cast

import faust
from faust.types import TP

from processors.__main__ import run_worker
from processors.app import RAW, faust_app, producer_send
from processors.holes import mend_holes
from processors.settings import ProcessorSettings


def create_holey_app(
    settings: ProcessorSettings, source: str, sink: str, withheld: set[tuple[int, int]]
) -> faust.App:
    app = faust_app(settings)
    send = producer_send(app)
    seen: set[tuple[int, int]] = set()

    async def forward(stream: faust.StreamT[bytes]) -> None:
        # StreamT, faust's declared type, lacks noack; the agent is handed a Stream.
        async for event in cast(faust.Stream[bytes], stream).noack().events():
            tp: TP = event.message.tp
            record = (tp.partition, event.message.offset)
            await send(sink, None, f"{record[0]}:{record[1]}".encode(), None)
            if record in withheld and record not in seen:
                seen.add(record)
                continue
            await stream.ack(event)

    app.agent(app.topic(source, **RAW), name="forward", concurrency=1)(forward)
    mend_holes(app, source, settings.hole_wait_s)
    return app


def main() -> None:
    source, sink, partition, first, last = sys.argv[1:6]
    withheld = {(int(partition), offset) for offset in range(int(first), int(last) + 1)}
    settings = ProcessorSettings()
    run_worker(create_holey_app(settings, source, sink, withheld), settings)


if __name__ == "__main__":
    main()
