"""A minimal faust worker for the broker smoke test: counts records per key in a table and
reports each new count on an output topic, so a test can see whether the table kept its values
across a restart (changelog recovery)."""

import os

import faust

app = faust.App(
    os.environ["SMOKE_APP_ID"],
    broker=f"kafka://{os.environ['SMOKE_BOOTSTRAP']}",
    store="memory://",
    topic_partitions=int(os.environ["SMOKE_PARTITIONS"]),
    processing_guarantee="at_least_once",
    web_enabled=False,
)
source = app.topic(os.environ["SMOKE_SOURCE"], key_type=str, value_type=str)
counts_out = app.topic(os.environ["SMOKE_OUTPUT"], key_type=str, value_type=str)
counts = app.Table("counts", default=int)


@app.agent(source, concurrency=1)
async def count(stream: faust.StreamT[str]) -> None:
    async for key, _ in stream.items():
        counts[key] += 1
        await counts_out.send(key=key, value=str(counts[key]))


if __name__ == "__main__":
    app.main()
