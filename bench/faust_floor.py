"""`python -m bench.faust_floor`: faust's own cost per record, for `python -m bench.processors`.

A faust worker configured as the processors' (`processors.app.faust_app`, the same worker
runner) whose agent does, per record, what the real one asks of faust, and nothing else: the
stream in `take_events` batches, one table write (the user's state, through the same
`TableWriter`) and one produce (the ledger command) per record, the batch's deliveries awaited
before its acks (as the agent awaits them: `processors.deliveries.delivered`). Each record's
value goes out unchanged, in place of a decision. Settings as the processors' (`LOYALTY_*`);
the commands topic is where the records go.

With `BENCH_FLOOR_SENDS=batches` in the environment, the records leave as the processors' do
since session 11: staged in a `processors.outbox.Outbox` and sent as one record batch per topic
partition, instead of one `send` per record (faust's floor as the issues measured it)."""

import os
from typing import Any, cast

import faust

from processors.__main__ import run_worker
from processors.app import RAW, batch_producer, faust_app, producer_send, table_writer
from processors.deliveries import delivered
from processors.outbox import Outbox
from processors.settings import ProcessorSettings


def create_floor_app(settings: ProcessorSettings, batches: bool = False) -> faust.App:
    app = faust_app(settings)
    events = app.topic(settings.events_topic, **RAW)
    target = settings.ledger_commands_topic
    send = producer_send(app)
    states = table_writer(app, settings, "user-state", send)
    outbox = Outbox(lambda: batch_producer(app))

    async def forward(stream: faust.StreamT[bytes]) -> None:
        take = cast(faust.Stream[bytes], stream).take_events
        async for batch in take(settings.batch_events_max, within=settings.batch_wait_ms / 1000):
            deliveries: list[Any] = []
            for event in batch:
                # The bench's records all have a key and a value.
                key, value = cast(bytes, event.message.key), cast(bytes, event.message.value)
                if batches:
                    states.stage(key, value, event, outbox)
                    outbox.add(target, key, value, None)
                else:
                    deliveries.append(await states.set(key, value, event))
                    deliveries.append(await send(target, key, value, None))
            await delivered(deliveries + await outbox.send())

    app.agent(events, name="forward", concurrency=1)(forward)
    return app


def main() -> None:
    settings = ProcessorSettings()
    batches = os.environ.get("BENCH_FLOOR_SENDS", "records") == "batches"
    run_worker(create_floor_app(settings, batches), settings)


if __name__ == "__main__":
    main()
