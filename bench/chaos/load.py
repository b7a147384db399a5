"""The clients: a partner calling the gateway and an internal service producing to `events.v1`,
`lanes` users at a time, each user's events one after another.

A partner retries what it must: no answer (the gateway was killed mid-request), a 5xx, a 429
after its Retry-After, and a 503 that says the outcome is unknown, always with the same
`reference_id`. A 503 that says nothing was published ends the event (refused), unless an earlier
attempt's outcome was unknown. The producer retries an unconfirmed send with the same event id.
Every answer is kept for the checks."""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from bench.chaos.workload import Planned
from schemas import topics
from schemas.events import EventV1

DEADLINE_S = 30.0  # an answer later than this is a hang
TRYING_S = 180.0  # an event still unresolved after this long is given up
PAUSE_S = 0.5  # before a retry without a Retry-After
RETRY_AFTER_MAX_S = 5.0
PRODUCE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Answer:
    started: float  # monotonic
    ended: float
    status: int | None  # None: no answer (connection refused or dropped, or the deadline passed)
    error: str | None = None  # the body's error code, or what went wrong without an answer
    unknown: bool = False  # the answer (or its absence) leaves the outcome unknown
    retry_after: bool = False


@dataclass
class Record:
    planned: Planned
    answers: list[Answer] = field(default_factory=list)
    final: str = "pending"  # accepted, refused or given_up


class Load:
    def __init__(self, gateway_url: str, api_key: str, bootstrap: str, lanes: int) -> None:
        self._gateway_url = gateway_url
        self._api_key = api_key
        self._bootstrap = bootstrap
        self._lanes = lanes
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self.records: list[Record] = []
        self.done = 0

    async def run(self, by_user: dict[str, list[Planned]]) -> list[Record]:
        queue: asyncio.Queue[list[Planned]] = asyncio.Queue()
        for planned in by_user.values():
            queue.put_nowait(planned)
        limits = httpx.Limits(max_connections=self._lanes, max_keepalive_connections=self._lanes)
        async with httpx.AsyncClient(
            base_url=self._gateway_url,
            headers={"X-API-Key": self._api_key},
            timeout=DEADLINE_S,
            limits=limits,
        ) as client:
            try:
                await asyncio.gather(*(self._lane(client, queue) for _ in range(self._lanes)))
            finally:
                if self._producer is not None:
                    await _stop(self._producer)
        return self.records

    async def _lane(self, client: httpx.AsyncClient, queue: "asyncio.Queue[list[Planned]]") -> None:
        while not queue.empty():
            for planned in queue.get_nowait():
                record = Record(planned)
                self.records.append(record)
                if planned.via_gateway:
                    await self._through_gateway(client, record)
                else:
                    await self._straight(record)
                self.done += 1

    async def _through_gateway(self, client: httpx.AsyncClient, record: Record) -> None:
        body = orjson.dumps(record.planned.request_body())
        headers = {"Content-Type": "application/json"}
        first = time.monotonic()
        while time.monotonic() - first < TRYING_S:
            answer = await _post(client, body, headers)
            record.answers.append(answer)
            if answer.status in (200, 202):
                record.final = "accepted"
                return
            if answer.status == 503 and not answer.unknown:
                if not any(a.unknown for a in record.answers):
                    record.final = "refused"  # nothing was published: the partner moves on
                    return
            elif answer.status is not None and 400 <= answer.status < 500 and answer.status != 429:
                record.final = "refused"
                return
            await asyncio.sleep(PAUSE_S if answer.status != 429 else RETRY_AFTER_MAX_S)
        record.final = "given_up"

    async def _straight(self, record: Record) -> None:
        event = record.planned.event()
        value = event.model_dump_json().encode()
        key = topics.user_key(event.programme_id, event.user_id)
        first = time.monotonic()
        while time.monotonic() - first < TRYING_S:
            started = time.monotonic()
            producer = await self._current_producer()
            try:
                async with asyncio.timeout(PRODUCE_TIMEOUT_S):
                    if producer is None:
                        raise KafkaError("no producer")
                    await producer.send_and_wait(topics.EVENTS, value, key=key)
            except (KafkaError, TimeoutError, OSError) as exc:
                record.answers.append(
                    Answer(started, time.monotonic(), None, type(exc).__name__, unknown=True)
                )
                await self._replace_producer(producer)
                await asyncio.sleep(PAUSE_S)
                continue
            record.answers.append(Answer(started, time.monotonic(), 200))
            record.final = "accepted"
            return
        record.final = "given_up"

    async def _current_producer(self) -> AIOKafkaProducer | None:
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    request_timeout_ms=int(PRODUCE_TIMEOUT_S * 1000),
                )
                try:
                    async with asyncio.timeout(PRODUCE_TIMEOUT_S):
                        await producer.start()
                except (KafkaError, TimeoutError, OSError):
                    await _stop(producer)
                    return None
                self._producer = producer
            return self._producer

    async def _replace_producer(self, failed: AIOKafkaProducer | None) -> None:
        """A producer whose send failed is dropped (the next send starts a new one), once."""
        async with self._producer_lock:
            if failed is not None and self._producer is failed:
                self._producer = None
                await _stop(failed)


async def _stop(producer: AIOKafkaProducer) -> None:
    try:
        async with asyncio.timeout(5):
            await producer.stop()
    except (KafkaError, TimeoutError, OSError):
        pass


async def _post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> Answer:
    started = time.monotonic()
    try:
        response = await client.post("/api/partner/events", content=body, headers=headers)
    except httpx.TimeoutException:
        return Answer(started, time.monotonic(), None, "timeout", unknown=True)
    except httpx.TransportError as exc:
        return Answer(started, time.monotonic(), None, type(exc).__name__, unknown=True)
    ended = time.monotonic()
    error, message = _error(response)
    status = response.status_code
    # A 503 says whether the event may have been published; any other 5xx says nothing.
    unknown = status >= 500 and (status != 503 or "unknown" in message)
    return Answer(started, ended, status, error, unknown, "retry-after" in response.headers)


def _error(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return "not json", ""
    if not isinstance(body, dict):
        return "not an object", ""
    error = body.get("error")
    return (None if error is None else str(error)), str(body.get("message", ""))


def events_of(records: Iterable[Record]) -> dict[str, EventV1]:
    return {r.planned.event_id: r.planned.event() for r in records}
