"""The ledger writer: consume ledger-commands.v1 in bounded batches, book each batch in one
Postgres transaction together with the consumer's offsets, and seek to those offsets whenever
partitions are assigned. Kafka's own committed offsets are never used.

While a batch is in Postgres, the next one is fetched and decoded (at most one batch ahead): the
writer's Python work overlaps the database's instead of waiting for it. Batches are still booked
one at a time, in order.
"""

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from ledger import metrics
from ledger.archive import ArchiveMonths
from ledger.codec import RawRecord, dead_letter, decode
from ledger.core.batch import BatchPlan, IncomingCommand, PlannedEntry
from ledger.core.expiring import IncomingLifecycle
from ledger.db_types import Connection
from ledger.dead_letters import DeadLetterPublisher, dead_letter_producer
from ledger.lifecycle import LifecycleReport, RunProgress, apply_lifecycle
from ledger.loading import AccountIds
from ledger.point_flows import points_by_flow
from ledger.repository import (
    Batch,
    apply_batch_with_retries,
    create_pool_when_up,
    with_retries,
)
from ledger.segments import Decoded, Segment, segments
from ledger.settings import LedgerSettings
from ledger.storage import load_offsets
from schemas.dead_letters import DeadLetter
from schemas.ledger import DeadLetterReason, OutcomeStatus, RejectionReason

log = logging.getLogger(__name__)
# Attempts at reading the stored offsets on an assignment after errors other than the database
# being away (which is waited out for repository.DATABASE_AWAY_MAX_S).
OFFSETS_ATTEMPTS_MAX = 5

# Bookings decoded between two yields to the event loop (about a millisecond of work): the
# booking task's database replies wait at most that long (or one command's decoding, for a
# command of many bookings), and the yields themselves cost nothing. Counted in bookings, not
# records: an import's command carries a thousand, and 64 of them decoded in one go held the
# booking transaction's replies for a second.
DECODE_CHUNK_BOOKINGS = 64


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    records: list[RawRecord]
    commands: list[IncomingCommand]
    letters: list[DeadLetter]
    next_offsets: dict[tuple[str, int], int]
    segments: list[Segment] | None = None
    """Where the batch holds lifecycle commands: cut around them (`ledger.segments`)."""


@dataclass(frozen=True, slots=True)
class BatchReport:
    records: int
    commands: int
    bookings: int
    dead_letters: int
    conflicts: int
    plan: BatchPlan
    next_offsets: dict[tuple[str, int], int]
    lifecycles: tuple[LifecycleReport, ...] = ()
    """The batch's lifecycle commands' runs; their entries are counted in `bookings`."""


class SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from the offsets committed with the last batch in Postgres."""

    def __init__(self, consumer: AIOKafkaConsumer, pool: asyncpg.Pool, group: str) -> None:
        self._consumer = consumer
        self._pool = pool
        self._group = group

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        """Nothing to flush: a batch's offsets are committed with the batch, or not at all."""

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        partitions = sorted(assigned)
        # Paused until sought: while this awaits Postgres, aiokafka would otherwise fetch from
        # the position it resets to (the beginning) and hand those records to the writer, which
        # books them again as repeats (seen under load: a restart re-read every record).
        self._consumer.pause(*partitions)
        try:
            await self._seek(partitions)
        finally:
            self._consumer.resume(*partitions)

    async def _seek(self, partitions: list[TopicPartition]) -> None:
        stored: dict[str, dict[int, int]] = {}
        for tp in partitions:
            if tp.topic not in stored:
                stored[tp.topic] = await self.stored_offsets(tp.topic)
            next_offset = stored[tp.topic].get(tp.partition)
            # Nothing stored: the writer never commits offsets to Kafka, so the group has no
            # position there and auto_offset_reset="earliest" starts at the beginning. (An extra
            # seek_to_beginning would race the first fetch and deliver its records twice.)
            if next_offset is not None:
                self._consumer.seek(tp, next_offset)
            log.info("assigned %s, resuming at %s", tp, next_offset or "the beginning")

    async def stored_offsets(self, topic: str) -> dict[int, int]:
        """Waits out the database being away (a rebalance while Postgres restarts): an error
        here would end the writer, since aiokafka raises it out of the rebalance."""

        async def load(conn: Connection) -> dict[int, int]:
            return await load_offsets(conn, self._group, topic)

        return await with_retries(
            self._pool, load, "loading offsets", OFFSETS_ATTEMPTS_MAX, 0.05, None
        )


class LedgerWriter:
    def __init__(
        self,
        settings: LedgerSettings,
        pool: asyncpg.Pool,
        consumer: AIOKafkaConsumer,
        dead_letters: DeadLetterPublisher,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._consumer = consumer
        self._dead_letters = dead_letters
        self._account_ids = AccountIds()
        self._archive_months = ArchiveMonths()
        # Until a batch has shown no repeated command (after a start, records booked before may be
        # delivered again), batches read what is stored before planning. A rebalance does not
        # reset it: a wrong hint costs one rolled-back attempt, and the replanned batch shows its
        # repeats, so the next batch reads what is stored again (see `Batch.expect_new`).
        self._expect_new = False

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; the batch in flight is committed before returning (a batch
        fetched ahead but not booked is simply read again by whoever resumes)."""
        async with aclosing(self._pipeline(stop)) as batches:
            async for batch in batches:
                if batch is not None:
                    await self._book_and_observe(batch)

    async def process_batch(self, max_records: int | None = None) -> BatchReport | None:
        """Fetch at most one bounded batch and book it; None if nothing arrived in time."""
        batch = await self._fetch(max_records or self._settings.batch_max_records)
        return None if batch is None else await self._book_and_observe(batch)

    async def process_until_drained(
        self,
        *,
        deadline_s: float = 120.0,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> int:
        """Book until every assigned partition is at its end; returns the records processed.
        `on_batch` sees every committed batch's report (the benchmark's clock)."""
        deadline = time.monotonic() + deadline_s
        stop = asyncio.Event()
        processed = 0
        async with aclosing(self._pipeline(stop)) as batches:
            async for batch in batches:
                if batch is not None:
                    report = await self._book_and_observe(batch)
                    processed += report.records
                    if on_batch is not None:
                        on_batch(report)
                elif await self._caught_up():
                    stop.set()
                if time.monotonic() >= deadline and not stop.is_set():
                    raise TimeoutError(f"not drained after {deadline_s} s ({processed} records)")
        return processed

    async def wait_for_assignment(self, *, deadline_s: float = 60.0) -> None:
        """Until the group has assigned partitions to this writer (for timing and tests)."""
        deadline = time.monotonic() + deadline_s
        while not self._consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partition assigned after {deadline_s} s")
            await asyncio.sleep(0.05)

    async def process_records(self, count: int, *, deadline_s: float = 60.0) -> int:
        """Book exactly `count` records (for deterministic tests); returns how many were seen."""
        deadline = time.monotonic() + deadline_s
        processed = 0
        while processed < count and time.monotonic() < deadline:
            batch_max = min(self._settings.batch_max_records, count - processed)
            report = await self.process_batch(max_records=batch_max)
            processed += 0 if report is None else report.records
        return processed

    async def _pipeline(self, stop: asyncio.Event) -> AsyncGenerator[DecodedBatch | None, None]:
        """Decoded batches (None: nothing arrived in time) until `stop` is set, each next one
        fetched and decoded while the caller books the current one. Bounded: one ahead."""
        batch_max = self._settings.batch_max_records
        ahead = asyncio.ensure_future(self._fetch(batch_max))
        try:
            while not stop.is_set():
                batch = await ahead
                ahead = asyncio.ensure_future(self._fetch(batch_max))
                yield batch
            # The fetch ahead may already have moved the consumer's position past its records:
            # they are booked too rather than left for the next start to read again.
            last = await ahead
            if last is not None:
                yield last
        finally:
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)

    async def _fetch(self, max_records: int) -> DecodedBatch | None:
        fetched = await self._consumer.getmany(
            timeout_ms=self._settings.batch_wait_ms, max_records=max_records
        )
        records = [
            RawRecord(r.topic, r.partition, r.offset, r.key, r.value, r.timestamp)
            for tp_records in fetched.values()
            for r in tp_records
        ]
        if not records:
            return None
        commands: list[IncomingCommand] = []
        letters: list[DeadLetter] = []
        items: list[Decoded] = []
        lifecycles = 0
        decoded_bookings = 0
        for record in records:
            decoded = decode(record)
            items.append(decoded)
            if isinstance(decoded, IncomingCommand):
                commands.append(decoded)
                decoded_bookings += max(1, len(decoded.command.bookings))
            else:
                lifecycles += isinstance(decoded, IncomingLifecycle)
                if isinstance(decoded, DeadLetter):
                    letters.append(decoded)
                decoded_bookings += 1
            if decoded_bookings >= DECODE_CHUNK_BOOKINGS:
                await asyncio.sleep(0)
                decoded_bookings = 0
        await asyncio.sleep(0)
        next_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), record.offset + 1)
        cut = segments(records, items) if lifecycles else None
        return DecodedBatch(records, commands, letters, next_offsets, cut)

    async def _book_and_observe(self, batch: DecodedBatch) -> BatchReport:
        started = time.perf_counter()
        report = await self._book(batch)
        metrics.BATCH_LATENCY.observe(time.perf_counter() - started)
        self._observe(report)
        return report

    async def _book(self, decoded: DecodedBatch) -> BatchReport:
        records, commands, letters = decoded.records, decoded.commands, decoded.letters
        if decoded.segments is None:
            plan, conflicts = await self._book_commands(
                records, commands, letters, decoded.next_offsets
            )
            return BatchReport(
                records=len(records),
                commands=len(commands),
                bookings=len(plan.entries),
                dead_letters=len(letters) + conflicts,
                conflicts=conflicts,
                plan=plan,
                next_offsets=decoded.next_offsets,
            )
        plans: list[BatchPlan] = []
        runs: list[LifecycleReport] = []
        conflicts = 0
        for segment in decoded.segments:
            if segment.lifecycle is None:
                plan, found = await self._book_commands(
                    records, segment.commands, segment.letters, segment.next_offsets
                )
                plans.append(plan)
                conflicts += found
            else:
                run = await self._book_lifecycle(records, segment.lifecycle, segment.next_offsets)
                runs.append(run)
                conflicts += run.outcome.reason_code is RejectionReason.IDEMPOTENCY_CONFLICT
        plan = BatchPlan(
            [outcome for each in plans for outcome in each.outcomes],
            [entry for each in plans for entry in each.entries],
            {},
        )
        return BatchReport(
            records=len(records),
            commands=len(commands) + len(runs),
            bookings=len(plan.entries) + sum(len(run.entries) for run in runs),
            dead_letters=len(letters) + conflicts,
            conflicts=conflicts,
            plan=plan,
            next_offsets=decoded.next_offsets,
            lifecycles=tuple(runs),
        )

    async def _book_commands(
        self,
        records: Sequence[RawRecord],
        commands: list[IncomingCommand],
        letters: list[DeadLetter],
        next_offsets: dict[tuple[str, int], int],
    ) -> tuple[BatchPlan, int]:
        """(plan, conflicts) of one transaction for the commands."""
        batch = Batch(commands, self._settings.consumer_group, next_offsets, self._expect_new)
        publish = _DeadLetterSender(self._dead_letters, records, letters)
        plan = await apply_batch_with_retries(
            self._pool,
            batch,
            publish,
            attempts_max=self._settings.batch_attempts_max,
            backoff_s=self._settings.retry_backoff_s,
            on_retry=lambda exc: metrics.BATCH_RETRIES.inc(),
            account_ids=self._account_ids,
            archive_months=self._archive_months,
        )
        self._expect_new = _repeats_nothing(plan)
        return plan, len(publish.conflicts_of(plan))

    async def _book_lifecycle(
        self,
        records: Sequence[RawRecord],
        incoming: IncomingLifecycle,
        next_offsets: dict[tuple[str, int], int],
    ) -> LifecycleReport:
        """A lifecycle command's run, in chunks; a conflict (its id used with another payload)
        is dead-lettered before the offset past it is stored."""
        by_position = {(r.topic, r.partition, r.offset): r for r in records}
        source = incoming.source

        async def before_finish(report: LifecycleReport) -> None:
            if (
                source is None
                or report.outcome.reason_code is not RejectionReason.IDEMPOTENCY_CONFLICT
            ):
                return
            record = by_position[(source.topic, source.partition, source.offset)]
            reason = DeadLetterReason.IDEMPOTENCY_CONFLICT
            await self._dead_letters.publish(
                [dead_letter(record, reason, report.outcome.reason or "")]
            )

        async def on_chunk(entries: list[PlannedEntry], progress: RunProgress) -> None:
            _observe_chunk(incoming, entries)

        settings = self._settings
        return await apply_lifecycle(
            self._pool,
            incoming,
            consumer_group=settings.consumer_group,
            next_offsets=next_offsets,
            chunk_accounts_max=settings.lifecycle_chunk_accounts,
            attempts_max=settings.batch_attempts_max,
            backoff_s=settings.retry_backoff_s,
            on_retry=lambda exc: metrics.BATCH_RETRIES.inc(),
            on_chunk=on_chunk,
            before_finish=before_finish,
            account_ids=self._account_ids,
        )

    def _observe(self, report: BatchReport) -> None:
        metrics.BATCHES.inc()
        metrics.BATCH_RECORDS.observe(report.records)
        metrics.BOOKINGS.inc(len(report.plan.entries))  # a lifecycle run's: per chunk
        # Counted per label pair first: a labelled counter costs a lookup and a lock per inc().
        tally = Counter(
            (planned.outcome.status, planned.outcome.reason_code)
            for planned in report.plan.outcomes
        )
        for (status, reason_code), count in tally.items():
            reason = "" if reason_code is None else str(reason_code)
            metrics.COMMANDS.labels(outcome=str(status), reason=reason).inc(count)
        for (programme, flow), points in points_by_flow(report.plan.entries).items():
            metrics.POINTS.labels(programme=programme, flow=flow).inc(points)
        for run in report.lifecycles:
            outcome = run.outcome
            reason = "" if outcome.reason_code is None else str(outcome.reason_code)
            metrics.COMMANDS.labels(outcome=str(outcome.status), reason=reason).inc()
        metrics.CONFLICTS.inc(report.conflicts)
        for (topic, partition), next_offset in report.next_offsets.items():
            stable_end = self._consumer.last_stable_offset(TopicPartition(topic, partition))
            if stable_end is not None:
                metrics.LAG.labels(partition=str(partition)).set(max(0, stable_end - next_offset))

    async def _caught_up(self) -> bool:
        assigned = list(self._consumer.assignment())
        if not assigned:
            return False
        ends = await self._consumer.end_offsets(assigned)
        for tp in assigned:
            if await self._consumer.position(tp) < ends[tp]:
                return False
        return True


def _observe_chunk(incoming: IncomingLifecycle, entries: list[PlannedEntry]) -> None:
    """A committed chunk of a lifecycle run: its points by flow, its lots."""
    command = incoming.command
    metrics.BOOKINGS.inc(len(entries))
    metrics.LIFECYCLE_CHUNKS.labels(action=str(command.action)).inc()
    for (programme, flow), points in points_by_flow(entries).items():
        metrics.POINTS.labels(programme=programme, flow=flow).inc(points)
    lots = sum(len(entry.debit_lots or ()) for entry in entries)
    metrics.LOTS_EXPIRED.labels(programme=command.programme_id).inc(lots)


class _DeadLetterSender:
    """The `BeforeCommit` of one batch: dead letters go out before the commit; a retried batch
    does not send them twice. Keeps the conflicts of the last plan it saw for the report."""

    def __init__(
        self,
        dead_letters: DeadLetterPublisher,
        records: Sequence[RawRecord],
        letters: Sequence[DeadLetter],
    ) -> None:
        self._dead_letters = dead_letters
        self._by_position = {(r.topic, r.partition, r.offset): r for r in records}
        self._letters = letters
        self._published: set[tuple[str, int, int]] = set()
        self._plan: BatchPlan | None = None
        self._conflicts: list[tuple[tuple[str, int, int], str]] = []

    async def __call__(self, plan: BatchPlan) -> None:
        conflicts = self.conflicts_of(plan)
        conflict_letters = [
            dead_letter(self._by_position[position], DeadLetterReason.IDEMPOTENCY_CONFLICT, reason)
            for position, reason in conflicts
        ]
        pending = [
            letter
            for letter in [*self._letters, *conflict_letters]
            if _position(letter) not in self._published
        ]
        if pending:
            await self._dead_letters.publish(pending)
            self._published.update(_position(letter) for letter in pending)

    def conflicts_of(self, plan: BatchPlan) -> list[tuple[tuple[str, int, int], str]]:
        """`_conflicts(plan)`, computed once per plan (the committed plan is the last one sent)."""
        if plan is not self._plan:
            self._plan, self._conflicts = plan, _conflicts(plan)
        return self._conflicts


def _conflicts(plan: BatchPlan) -> list[tuple[tuple[str, int, int], str]]:
    """(source position, reason) of every command refused as an idempotency conflict."""
    return [
        ((source.topic, source.partition, source.offset), planned.outcome.reason or "")
        for planned in plan.outcomes
        if planned.outcome.reason_code is RejectionReason.IDEMPOTENCY_CONFLICT
        and (source := planned.incoming.source) is not None
    ]


def _repeats_nothing(plan: BatchPlan) -> bool:
    """No command or booking of the batch had been seen before (so the next one likely has none
    either). A command seen before is always a duplicate or a conflict (`planner._repeat`), so
    `planned.is_new` needs no check of its own."""
    return all(
        planned.outcome.status is not OutcomeStatus.DUPLICATE
        and planned.outcome.reason_code is not RejectionReason.IDEMPOTENCY_CONFLICT
        for planned in plan.outcomes
    )


def _position(letter: DeadLetter) -> tuple[str, int, int]:
    return (letter.source_topic, letter.source_partition, letter.source_offset)


@asynccontextmanager
async def open_writer(settings: LedgerSettings) -> AsyncIterator[LedgerWriter]:
    """Connect to Postgres (waiting while it is away: a writer started during its restart) and
    Kafka; on exit stop the consumer, the producer, then the pool."""
    pool = await create_pool_when_up(
        settings.database_url, min_size=1, max_size=settings.database_pool_size
    )
    producer = dead_letter_producer(settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        client_id="ledger-writer",
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        fetch_max_bytes=settings.fetch_max_bytes,
        max_partition_fetch_bytes=settings.fetch_max_bytes,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
    )
    consumer.subscribe(
        [settings.commands_topic],
        listener=SeekToStoredOffsets(consumer, pool, settings.consumer_group),
    )
    try:
        await producer.start()
        await consumer.start()
        dead_letters = DeadLetterPublisher(producer, settings.dead_letters_topic)
        yield LedgerWriter(settings, pool, consumer, dead_letters)
    finally:
        await consumer.stop()
        await producer.stop()
        await pool.close()
