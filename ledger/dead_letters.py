"""Publish dead letters (`schemas.dead_letters.DeadLetter`), waiting for the broker's
acknowledgement of every one."""

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from ledger import metrics
from schemas.dead_letters import DeadLetter


class DeadLetterPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, letters: Sequence[DeadLetter]) -> None:
        """Sent before the batch commits: a crash in between re-sends them, never loses them."""
        futures = [
            await self._producer.send(
                self._topic,
                value=letter.model_dump_json().encode(),
                key=f"{letter.source_topic}:{letter.source_partition}".encode(),
            )
            for letter in letters
        ]
        for future in futures:
            await future
        for letter in letters:
            metrics.DEAD_LETTERS.labels(reason=letter.reason).inc()


def dead_letter_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id="ledger-writer-dead-letters",
    )
