"""What the publish-and-answer path needs from the world, as Protocols: the process wires Kafka's
producer, the LISTEN connection and Postgres behind them (`gateway.app`); unit tests wire small
in-memory fakes (tests/unit/gateway/publishing)."""

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from schemas.events import EventV1
from schemas.ledger import CommandOutcome, LedgerCommand


class EventPublisher(Protocol):
    async def publish(self, event: EventV1) -> None:
        """Returns once the broker holds the event (raises Unavailable otherwise)."""

    async def publish_command(self, command: LedgerCommand, retry: str) -> None:
        """Returns once the broker holds the command; `retry` tells the client how to retry."""


class OutcomeWaits(Protocol):
    @property
    def listening(self) -> bool:
        """False while outcomes may go unnoticed (then a missed one is looked up)."""

    def expect(
        self, command_id: str
    ) -> AbstractAsyncContextManager[asyncio.Future[CommandOutcome | None]]:
        """A future completed with the command's outcome when the ledger commits it."""


class StoredOutcomes(Protocol):
    async def get(self, command_id: str, programme_id: str | None) -> CommandOutcome | None:
        """The outcome the ledger stored for the command (of that programme, if given)."""
