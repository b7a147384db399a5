"""Asking the processors "what would this event earn now?" (schemas/previews.py): a request on
previews.v1, keyed as the events so the worker holding the user's state answers, and its reply
read from preview-replies.v1. The partner API's preview and the console's "Try an event" both
ask through a `Previewer`.

Every instance (gateway or console) reads the whole replies topic from where it ended when the
instance started (no consumer group: replies are few, and each instance keeps only those it
waits for, by request id). A request registers its wait before it is sent, so a fast reply is
never missed; past the deadline it is given up (`PreviewUnavailable`), and a worker that reads
it later skips it (`expires_at`)."""

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from runtime.kafka import partitions_of
from schemas import topics
from schemas.events import EventV1
from schemas.previews import PreviewReply, PreviewRequest

log = logging.getLogger(__name__)
FETCH_RECORDS_MAX = 500
RETRY_AFTER_S = 1


class PreviewUnavailable(Exception):
    """No answer: Kafka refused the request, no worker answered in time, or the worker could not
    decide it (`PreviewReply.refusal`). Retrying shortly is safe: nothing was stored."""

    def __init__(self, message: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


class Previewer:
    def __init__(
        self,
        bootstrap_servers: str,
        previews_topic: str = topics.PREVIEWS,
        replies_topic: str = topics.PREVIEW_REPLIES,
        *,
        wait_s: float = 2.0,
        waiting_max: int = 1_000,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._previews_topic = previews_topic
        self._replies_topic = replies_topic
        self._wait_s = wait_s
        self._waiting_max = waiting_max
        self._waiting: dict[str, asyncio.Future[PreviewReply]] = {}
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(wait_s * 1000),
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False
        )
        self._reading: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Returns once positioned at the replies topic's end, so that every reply to a request
        sent from now on is read."""
        partitions = await partitions_of(self._bootstrap, self._replies_topic)
        await self._producer.start()
        await self._consumer.start()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)
        self._reading = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
        await self._consumer.stop()
        await self._producer.stop()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def preview(self, event: EventV1, *, drafts: bool = False) -> PreviewReply:
        """The decision the processors would make for `event` now (`drafts`: with the draft
        rules active); raises PreviewUnavailable without one."""
        if len(self._waiting) >= self._waiting_max:
            raise PreviewUnavailable("too many previews are waiting; retry shortly")
        request = PreviewRequest(
            request_id=f"prv_{uuid.uuid4().hex}",
            event=event,
            drafts=drafts,
            reply_topic=self._replies_topic,
            expires_at=datetime.now(UTC) + timedelta(seconds=self._wait_s),
        )
        answered: asyncio.Future[PreviewReply] = asyncio.get_running_loop().create_future()
        self._waiting[request.request_id] = answered
        try:
            async with asyncio.timeout(self._wait_s):
                await self._send(request)
                reply = await answered
        except TimeoutError as exc:
            raise PreviewUnavailable(
                f"no preview within {self._wait_s:g} s (the processors are busy or away)"
            ) from exc
        finally:
            self._waiting.pop(request.request_id, None)
        if reply.outcome != "decided":
            raise PreviewUnavailable(f"the preview could not be decided: {reply.refusal}")
        return reply

    async def _send(self, request: PreviewRequest) -> None:
        key = topics.user_key(request.event.programme_id, request.event.user_id)
        value = request.model_dump_json().encode()
        try:
            await self._producer.send_and_wait(self._previews_topic, value, key=key)
        except KafkaError as exc:
            raise PreviewUnavailable(f"the preview could not be sent ({exc})") from exc

    async def _read(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(
                    timeout_ms=1_000, max_records=FETCH_RECORDS_MAX
                )
            except KafkaError:
                log.warning("reading %s failed; retrying", self._replies_topic, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    self._replied(record.key, record.value)

    def _replied(self, key: bytes | None, value: bytes | None) -> None:
        # Other instances' replies share the topic: only the ones waited for here are read.
        waiting = self._waiting.get((key or b"").decode(errors="replace"))
        if waiting is None or waiting.done():
            return
        try:
            waiting.set_result(PreviewReply.model_validate_json(value or b""))
        except ValidationError as exc:
            waiting.set_exception(PreviewUnavailable(f"an unreadable preview reply: {exc}"))
