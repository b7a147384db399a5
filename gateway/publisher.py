"""Writes accepted events to `events.v1` with an idempotent, acks=all producer."""

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.errors import Unavailable
from schemas import topics
from schemas.events import EventV1


class EventPublisher:
    def __init__(self, bootstrap_servers: str, topic: str, timeout_s: float) -> None:
        self._topic = topic
        self._timeout_s = timeout_s
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            request_timeout_ms=int(timeout_s * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: EventV1) -> None:
        """Returns once the broker has the event on all in-sync replicas."""
        value = event.model_dump_json().encode()
        key = topics.user_key(event.programme_id, event.user_id)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._producer.send_and_wait(self._topic, value, key=key)
        except (KafkaError, TimeoutError) as exc:
            message = "the event could not be stored; retry with the same reference_id"
            raise Unavailable(message) from exc
