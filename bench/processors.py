"""`python -m bench.processors`: the faust processors' sustained events per second, Kafka to Kafka.

Preloads `--events` partner events (the demo programme's event types, over `--users` users) into a
fresh topic. Then, in the same run and on the same records:
- a raw aiokafka consume-and-produce pass-through (bytes in, the same bytes out, offsets committed
  per batch): what Kafka and aiokafka alone allow on this machine;
- the real processor worker (`python -m processors`, one process, as `./dev up` runs it) pointed
  at the same topic, deciding every event and emitting its ledger command;
- faust's floor (`python -m bench.faust_floor`): a worker configured as the processors' whose
  agent only does faust's part per record (stream batches, one table write, one produce, acks),
  forwarding each record unchanged: what faust alone allows, with no deciding at all, with
  one `send` per record (the floor issue 19 measures against);
- the same floor with its records sent as the processors send theirs since session 11, one
  record batch per topic partition (`processors.outbox`): faust's part as the worker now asks
  for it.
Each rate is the steady state, from the timestamps the producers put on the output records:
from the 10th percentile record to the last, so start-up and group joins are excluded.
With `--workers N` the processors (and faust's floor) run as N workers in one consumer group over
the topic's `--partitions`; the processors also run as one worker first, on the same records
(a group of its own), so the run reports the ratio of N workers to one.
Starts the local Kafka if it is not running. Ends with
`RESULT events_per_s=N passthrough_per_s=M faust_floor_per_s=F batched_floor_per_s=B`, and with
`--workers N` also `workers=N one_worker_events_per_s=O workers_ratio=N/O`.
"""

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.kafka_tools import create_topics, delete_topics_of
from deploy.local import kafka, processes
from deploy.local.paths import REPO
from deploy.local.settings import LocalSettings
from gateway.admin.programmes import load_file, publish
from runtime.kafka import partitions_of, produce
from schemas.event_time import EventTimePolicy
from schemas.topics import user_key

DEMO = REPO / "deploy" / "programmes" / "demo.yaml"
STEADY_FROM = 0.10
HISTORY = timedelta(days=30)
# The demo programme accepts events dated up to 7 days back; the benchmark's month of events is
# decided live (the time policy checked for each), so its copy of the programme accepts 32 days:
# the month, the hours since midnight and the run, with room to spare.
EVENT_TIME = EventTimePolicy(past_max_s=int((HISTORY + timedelta(days=2)).total_seconds()))
WAIT_S_MAX = 900.0
WATCH_INTERVAL_S = 1.0
EVENT_MIX = (
    ("article_read", 0.4),
    ("video_watched", 0.2),
    ("purchase", 0.2),
    ("daily_login", 0.1),
    ("share", 0.1),
)


def events(programme_id: str, count: int, users: int, seed: int) -> Iterator[tuple[bytes, bytes]]:
    """events.v1 records as an internal producer would publish them, the last 30 days' of them
    in order (UTC days, so the days and caps are the same in every run)."""
    rng = random.Random(seed)
    names = [name for name, _ in EVENT_MIX]
    weights = [weight for _, weight in EVENT_MIX]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - HISTORY
    step = HISTORY / count
    for index in range(count):
        user_id = f"user-{rng.randrange(users)}"
        event_type = rng.choices(names, weights)[0]
        metadata: dict[str, object] = {"amount": round(rng.uniform(1, 500), 2)}
        if event_type != "purchase":
            metadata = {"duration": rng.randrange(60)} if event_type == "video_watched" else {}
        record = {
            "event_id": f"evt_{programme_id}_{index}",
            "programme_id": programme_id,
            "user_id": user_id,
            "event_type": event_type,
            "occurred_at": (start + step * index).isoformat(),
            "partner_id": "mgpass-demo",
            "metadata": metadata,
        }
        yield user_key(programme_id, user_id), orjson.dumps(record)


def steady_rate(timestamps_ms: list[int]) -> float:
    ordered = sorted(timestamps_ms)
    first = int(len(ordered) * STEADY_FROM)
    span_s = (ordered[-1] - ordered[first]) / 1000
    return (len(ordered) - 1 - first) / span_s if span_s > 0 else float("inf")


async def output_timestamps(bootstrap: str, topic: str, count: int) -> list[int]:
    """The producer timestamps of the first `count` records on `topic` (all partitions)."""
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    stamps: list[int] = []
    try:
        async with asyncio.timeout(WAIT_S_MAX):
            while len(stamps) < count:
                batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
                stamps += [r.timestamp for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    return stamps[:count]


async def passthrough(bootstrap: str, source: str, target: str, count: int) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"bench-passthrough-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await consumer.start()
    await producer.start()
    forwarded = 0
    try:
        while forwarded < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=1_000)
            sent = [
                await producer.send(target, value=r.value, key=r.key)
                for records in batches.values()
                for r in records
            ]
            for delivery in sent:
                await delivery
            await consumer.commit()
            forwarded += len(sent)
    finally:
        await consumer.stop()
        await producer.stop()


def start_worker(
    bootstrap: str,
    topics_: dict[str, str],
    partitions: int,
    name: str,
    app_id: str,
    module: str,
    extra_env: dict[str, str],
) -> None:
    env = extra_env | {
        "LOYALTY_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LOYALTY_PROCESSORS_APP_ID": app_id,
        "LOYALTY_PROCESSORS_DATA_DIR": tempfile.mkdtemp(prefix="bench-processors-"),
        "LOYALTY_EVENTS_TOPIC": topics_["events"],
        "LOYALTY_LEDGER_COMMANDS_TOPIC": topics_["commands"],
        "LOYALTY_DEAD_LETTERS_TOPIC": topics_["dead"],
        # Its own (empty) previews topic: the worker's preview agent reads no other run's.
        "LOYALTY_PREVIEWS_TOPIC": topics_["previews"],
        "LOYALTY_TOPIC_PARTITIONS": str(partitions),
        "LOYALTY_METRICS_PORT": "0",
        "LOYALTY_LOG_LEVEL": "warn",
    }
    processes.start(name, [sys.executable, "-m", module], env=env, cwd=REPO)


@dataclass(frozen=True)
class Rates:
    events_per_s: float
    passthrough_per_s: float
    floor_per_s: float
    batched_floor_per_s: float
    """faust's floor with the records sent as the processors send theirs (`processors.outbox`)."""
    one_worker_events_per_s: float
    """The processors as one worker, when the run's are several (else events_per_s)."""


async def run(bootstrap: str, arguments: argparse.Namespace) -> Rates:
    """The run's topics (and faust's, named after its app ids) are deleted at the end."""
    suffix = uuid.uuid4().hex[:8]
    try:
        return await measure(bootstrap, arguments, suffix)
    finally:
        await delete_topics_of(bootstrap, suffix)


async def measure(bootstrap: str, arguments: argparse.Namespace, suffix: str) -> Rates:
    kinds = ("events", "commands", "dead", "copy", "floor", "batched", "single", "previews")
    names = {kind: f"bench-{kind}-{suffix}" for kind in kinds}
    await create_topics(bootstrap, {name: arguments.partitions for name in names.values()})
    programme = load_file(DEMO).model_copy(
        update={"programme_id": f"bench-{suffix}", "event_time": EVENT_TIME}
    )
    await publish(bootstrap, [programme])
    started = time.perf_counter()
    count = await produce(
        bootstrap,
        names["events"],
        events(programme.programme_id, arguments.events, arguments.users, 7),
    )
    print(f"preloaded {count} events in {time.perf_counter() - started:.1f}s", flush=True)

    await passthrough(bootstrap, names["events"], names["copy"], count)
    passthrough_per_s = steady_rate(await output_timestamps(bootstrap, names["copy"], count))
    print(f"pass-through: {passthrough_per_s:.0f} records/s", flush=True)

    one_worker_per_s = 0.0
    if arguments.workers > 1:
        single = names | {"commands": names["single"]}
        one_worker_per_s, one_cpu_s = await run_workers(
            bootstrap, single, count, 1, arguments.partitions, "processors", f"{suffix}-one"
        )
        print(
            f"processors, one worker: {one_worker_per_s:.0f} events/s,"
            f" {one_cpu_s / count * 1e6:.0f} µs CPU per event",
            flush=True,
        )
    events_per_s, cpu_s = await run_workers(
        bootstrap, names, count, arguments.workers, arguments.partitions, "processors", suffix
    )
    print(f"processors, {arguments.workers} worker(s): {events_per_s:.0f} events/s", flush=True)
    if arguments.workers > 1:
        print(f"  {events_per_s / one_worker_per_s:.2f} times one worker", flush=True)
    # CPU per event is what a shared machine disturbs least (start-up and recovery included).
    print(f"processors CPU: {cpu_s:.1f} s, {cpu_s / count * 1e6:.0f} µs per event", flush=True)

    floors: dict[str, float] = {}
    for kind, label, sends in (
        ("floor", "faust floor", "records"),
        ("batched", "faust floor, batched sends", "batches"),
    ):
        floor_topics = names | {"commands": names[kind]}
        floor_per_s, floor_cpu_s = await run_workers(
            bootstrap,
            floor_topics,
            count,
            arguments.workers,
            arguments.partitions,
            "bench.faust_floor",
            f"{suffix}-{kind}",
            {"BENCH_FLOOR_SENDS": sends},
        )
        floors[kind] = floor_per_s
        print(f"{label}: {floor_per_s:.0f} records/s", flush=True)
        print(f"{label}, CPU: {floor_cpu_s / count * 1e6:.0f} µs per record", flush=True)
    return Rates(
        events_per_s,
        passthrough_per_s,
        floors["floor"],
        floors["batched"],
        one_worker_per_s or events_per_s,
    )


async def run_workers(
    bootstrap: str,
    topics_: dict[str, str],
    count: int,
    worker_count: int,
    partitions: int,
    module: str,
    suffix: str,
    extra_env: dict[str, str] | None = None,
) -> tuple[float, float]:
    """Runs `worker_count` processes of `module` (one consumer group, named after `suffix`)
    until all `count` records are out; returns the steady rate and the workers' CPU seconds."""
    app_id = f"bench-{module.replace('.', '-')}-{suffix}"
    workers = [f"{app_id}-{index}" for index in range(worker_count)]
    for worker in workers:
        start_worker(bootstrap, topics_, partitions, worker, app_id, module, extra_env or {})
    try:
        outputs = output_timestamps(bootstrap, topics_["commands"], count)
        rate = steady_rate(await while_running(outputs, workers))
        pids = [processes.running_pid(worker) for worker in workers]
        cpu_s = sum(processes.cpu_seconds(pid) for pid in pids if pid is not None)
    finally:
        for worker in workers:
            processes.stop(worker)
    return rate, cpu_s


async def while_running(outputs: Awaitable[list[int]], workers: list[str]) -> list[int]:
    """`outputs`, or `processes.ProcessExited` as soon as one of `workers` is no longer
    running: a worker that fails at its start would otherwise leave the run waiting
    `WAIT_S_MAX` for records that never come."""
    waiting = asyncio.ensure_future(outputs)
    try:
        while not waiting.done():
            for worker in workers:
                processes.ensure_running(worker, when="before its records were out")
            await asyncio.wait({waiting}, timeout=WATCH_INTERVAL_S)
        return waiting.result()
    finally:
        waiting.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.processors", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes sharing the partitions"
    )
    arguments = parser.parse_args()
    if not 1 <= arguments.workers <= arguments.partitions:
        parser.error("--workers must be from 1 to --partitions (a worker has a partition at least)")
    settings = LocalSettings()
    started = kafka.start(settings)
    try:
        kafka.wait_ready(settings)
        rates = asyncio.run(run(settings.kafka_bootstrap_servers, arguments))
    except processes.ProcessExited as exc:
        print(f"bench.processors: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        if started:
            kafka.stop()
    result = (
        f"RESULT events_per_s={rates.events_per_s:.0f}"
        f" passthrough_per_s={rates.passthrough_per_s:.0f}"
        f" faust_floor_per_s={rates.floor_per_s:.0f}"
        f" batched_floor_per_s={rates.batched_floor_per_s:.0f}"
    )
    if arguments.workers > 1:
        result += (
            f" workers={arguments.workers}"
            f" one_worker_events_per_s={rates.one_worker_events_per_s:.0f}"
            f" workers_ratio={rates.events_per_s / rates.one_worker_events_per_s:.2f}"
        )
    print(result)


if __name__ == "__main__":
    main()
