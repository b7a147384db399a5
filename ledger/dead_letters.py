"""Publish dead letters, waiting for the broker's acknowledgement of every one."""

from collections.abc import Sequence

import orjson
from aiokafka import AIOKafkaProducer

from ledger import metrics
from schemas.ledger import LedgerDeadLetter


class DeadLetterPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, letters: Sequence[LedgerDeadLetter]) -> None:
        """Sent before the batch commits: a crash in between re-sends them, never loses them."""
        futures = [
            await self._producer.send(
                self._topic,
                value=orjson.dumps(letter.model_dump(mode="json")),
                key=f"{letter.source_topic}:{letter.source_partition}".encode(),
            )
            for letter in letters
        ]
        for future in futures:
            await future
        for letter in letters:
            metrics.DEAD_LETTERS.labels(reason=str(letter.reason)).inc()


def dead_letter_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id="ledger-writer-dead-letters",
    )
