"""Waiting for an event's outcome: the ledger writer NOTIFYs each command id when its batch
commits, and every gateway instance LISTENs, so the reply reaches whichever instance waits.

A request registers its wait before publishing, so a notification can never slip in between."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from ledger import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_ATTEMPTS_MAX = 30
RECONNECT_BACKOFF_S = 1.0


class OutcomeNotifications:
    def __init__(self, database_url: str, waiting_max: int) -> None:
        self._database_url = database_url
        self._waiting_max = waiting_max
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._connection: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return sum(len(futures) for futures in self._waiting.values())

    async def start(self) -> None:
        connection = await asyncpg.connect(self._database_url)
        await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        connection.add_termination_listener(self._lost)
        self._connection = connection

    async def stop(self) -> None:
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    @contextlib.asynccontextmanager
    async def expect(self, command_id: str) -> AsyncIterator[asyncio.Future[None]]:
        """A future that completes when `command_id`'s outcome is committed."""
        if self.waiting >= self._waiting_max:
            raise OverflowError("too many requests waiting for outcomes")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command_id, []).append(future)
        try:
            yield future
        finally:
            futures = self._waiting.get(command_id, [])
            if future in futures:
                futures.remove(future)
            if not futures:
                self._waiting.pop(command_id, None)

    def _notified(self, _connection: Any, _pid: int, _channel: str, command_id: object) -> None:
        for future in self._waiting.pop(str(command_id), []):
            if not future.done():
                future.set_result(None)

    def _lost(self, _connection: Any) -> None:
        # Waiting requests fall back to their deadline (202 pending) while the listener is away.
        log.warning("lost the LISTEN connection for %s; reconnecting", NOTIFY_CHANNEL)
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        for _ in range(RECONNECT_ATTEMPTS_MAX):
            await asyncio.sleep(RECONNECT_BACKOFF_S)
            try:
                await self.start()
                return
            except (OSError, asyncpg.PostgresError):
                continue
        log.error("gave up reconnecting the LISTEN connection; answers will be 202 pending")
