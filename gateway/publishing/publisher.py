"""What the gateway writes to Kafka, with one idempotent, acks=all producer: partner events to
the events topic, and the ledger commands no rule decides (Kwegg offer redemptions, MyRewards
points transactions) to the ledger-commands topic. Both are keyed `programme_id:user_id`."""

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.errors import Unavailable
from schemas import topics
from schemas.events import EventV1
from schemas.ledger import LedgerCommand


class Publisher:
    def __init__(
        self,
        bootstrap_servers: str,
        events_topic: str,
        commands_topic: str,
        timeout_s: float,
        linger_ms: int,
    ) -> None:
        self._events_topic = events_topic
        self._commands_topic = commands_topic
        self._timeout_s = timeout_s
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            request_timeout_ms=int(timeout_s * 1000),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: EventV1) -> None:
        """Returns once the broker has the event on all in-sync replicas."""
        key = topics.user_key(event.programme_id, event.user_id)
        retry = (
            "Kafka did not confirm the event, so its outcome is unknown (it may be booked): "
            + (
                "retry with the same reference_id, which is recognised"
                if event.reference_id is not None
                else "a retry without a reference_id may count it twice; send one"
            )
        )
        await self._send(self._events_topic, key, event.model_dump_json().encode(), retry)

    async def publish_command(self, command: LedgerCommand, retry: str) -> None:
        """Returns once the broker has the command; `retry` tells the client how to retry
        safely when it could not be stored."""
        key = topics.user_key(command.programme_id, command.user_id)
        await self._send(self._commands_topic, key, command.model_dump_json().encode(), retry)

    async def _send(self, topic: str, key: bytes, value: bytes, retry: str) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._producer.send_and_wait(topic, value, key=key)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable(retry) from exc
